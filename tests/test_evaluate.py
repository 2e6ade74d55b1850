"""``gridwatch eval``: reading a dataset split (sources, ignore sets, refusals) and an end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli.main import main
from datasets.build import build_dataset
from domain.taxonomy import LABEL_NAMES
from service.core.config import COCO_MODEL, DEFAULT_MODEL
from training.evaluate import load_split, read_clusters

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GARBAGE = LABEL_NAMES.index("garbage")


def make_dataset(root: Path, labels: dict[str, str], card: dict[str, object] | None = None) -> Path:
    """A dataset in the builder's layout with the given test images (file name -> label file text).

    Image files are empty: reading a split never decodes them.
    """
    (root / "images" / "test").mkdir(parents=True)
    (root / "labels" / "test").mkdir(parents=True)
    (root / "data.yaml").write_text(
        "names:\n" + "".join(f"  {i}: {name}\n" for i, name in enumerate(LABEL_NAMES)), encoding="utf-8"
    )
    (root / "card.json").write_text(json.dumps(card or {"pseudo_model": None}), encoding="utf-8")
    for name, text in labels.items():
        (root / "images" / "test" / name).touch()
        (root / "labels" / "test" / name).with_suffix(".txt").write_text(text, encoding="utf-8")
    return root


def test_labels_and_ignore_sets_come_from_the_source(tmp_path: Path) -> None:
    ds = make_dataset(
        tmp_path,
        {
            "garbage_street__a.jpg": f"{GARBAGE} 0.5 0.5 0.2 0.2\n",
            "bicycle_rf2000__b.jpg": "",
        },
    )
    names, images = load_split(ds)
    assert names == LABEL_NAMES
    by_source = {im.source: im for im in images}
    street, bikes = by_source["garbage_street"], by_source["bicycle_rf2000"]
    assert street.class_id.tolist() == [GARBAGE]
    np.testing.assert_allclose(street.xywhn, [[0.5, 0.5, 0.2, 0.2]])
    assert [n for n, ok in zip(names, street.labelled, strict=True) if ok] == ["garbage"]
    assert [n for n, ok in zip(names, bikes.labelled, strict=True) if ok] == ["bicycle"]
    assert bikes.class_id.shape == (0,) and bikes.xywhn.shape == (0, 4)


def test_pseudo_labels_count_only_when_asked_and_present(tmp_path: Path) -> None:
    card: dict[str, object] = {"pseudo_model": "yolo26n-coco.onnx", "pseudo": {"car": 3, "person": 1}}
    ds = make_dataset(tmp_path / "p", {"garbage_street__a.jpg": ""}, card)
    names, images = load_split(ds, pseudo_gt=True)
    assert {n for n, ok in zip(names, images[0].labelled, strict=True) if ok} == {"garbage", "car", "person"}
    plain = make_dataset(tmp_path / "plain", {"garbage_street__a.jpg": ""})
    with pytest.raises(ValueError, match="without pseudo-labels"):
        load_split(plain, pseudo_gt=True)


@pytest.mark.parametrize(
    ("labels", "card", "message"),
    [
        ({"synth_flyposting_00001.jpg": ""}, None, "synthetic images"),
        ({"garbage_street__a.jpg": "", "ads_001.jpg": ""}, {"synthetic_prefix": "ads_"}, "synthetic images"),
        ({"mystery__a.jpg": ""}, None, "unknown source 'mystery'"),
        ({"garbage_street__a.jpg": "6 0.5 0.5 0.2\n"}, None, r"a\.txt:1: expected 5 columns"),
        ({"garbage_street__a.jpg": "\n12 0.5 0.5 0.2 0.2\n"}, None, r"a\.txt:2: class id outside"),
        ({}, None, "no images"),
    ],
    ids=["synthetic", "synthetic_card_prefix", "unknown_source", "short_line", "bad_class", "empty_split"],
)
def test_refuses(tmp_path: Path, labels: dict[str, str], card: dict[str, object] | None, message: str) -> None:
    ds = make_dataset(tmp_path, labels, card)
    with pytest.raises(ValueError, match=message):
        load_split(ds)


@pytest.mark.parametrize(
    ("clusters", "expected"),
    [
        (None, (["a__1", "a__2", "b__1"], False)),  # built before clusters were recorded: each image its own
        ({"a__1": "a/run1", "a__2": "a/run1", "b__1": "b/x"}, (["a/run1", "a/run1", "b/x"], True)),
        ({"a__1": "a/run1"}, "names no cluster for 2 images"),
    ],
)
def test_clusters_come_from_the_card(tmp_path: Path, clusters: dict[str, str] | None, expected: object) -> None:
    card: dict[str, object] = {"pseudo_model": None} | ({} if clusters is None else {"clusters": clusters})
    root = make_dataset(tmp_path, {"a__1.jpg": "", "a__2.jpg": "", "b__1.jpg": ""}, card)
    paths = sorted((root / "images" / "test").iterdir())
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            read_clusters(root, paths)
    else:
        assert read_clusters(root, paths) == expected


def test_cli_refuses_synthetic_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = make_dataset(tmp_path, {"graffiti_gr__a.jpg": "", "synth_flyposting_00001.jpg": ""})
    assert main(["eval", str(ds)]) == 2
    assert "synthetic images are training data only" in capsys.readouterr().err


@pytest.fixture(scope="module")
def real_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small dataset built from the shared real data, without pseudo-labels (about a second)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"no shared data at {SHARED_DATA}")
    out = tmp_path_factory.mktemp("evalds")
    build_dataset(SHARED_DATA, out, detector=None, limit_per_source=20, overwrite=True)
    return out


def test_eval_end_to_end_with_coco_model(
    real_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "eval.json"
    args = ["eval", str(real_dataset), "--model", str(COCO_MODEL), "--json", str(report), "--batch", "2"]
    assert main([*args, "--class-conf", "bicycle=0.5"]) == 0
    table = capsys.readouterr().out
    data = json.loads(report.read_text(encoding="utf-8"))
    labels = data["labels"]
    assert list(labels) == list(LABEL_NAMES)
    assert data["split"] == "test" and data["images"] == len(list((real_dataset / "images" / "test").iterdir()))
    # The COCO model shares the vehicles and person with the taxonomy; the violation labels are not its own.
    assert [n for n, row in labels.items() if row["in_model"]] == [
        "person",
        "car",
        "truck",
        "bus",
        "motorcycle",
        "bicycle",
    ]
    assert labels["garbage"] == {"in_model": False}
    bicycle = labels["bicycle"]
    assert bicycle["instances"] >= 1 and bicycle["threshold"] == 0.5
    assert 0.0 <= bicycle["ap50"] <= 1.0 and 0.0 <= bicycle["ap50_95"] <= bicycle["ap50"]
    # No source boxes cars exhaustively and there are no pseudo-labels: car is n/a, not 0.
    assert labels["car"]["instances"] == 0 and labels["car"]["ap50"] is None
    assert "| bicycle | 0.500 |" in table and "| car | 0.250 | 0 | 0 | n/a | n/a | n/a | n/a | n/a | n/a |" in table
    # The 90 % interval resamples the dataset's clusters; it brackets a label's AP50 of the split
    low, high = bicycle["ap50_ci"]
    assert data["ci_level"] == 0.9 and data["ci_clustered"] is True and "bootstrap resamples of whole clusters" in table
    assert 0.0 <= low <= bicycle["ap50"] <= high <= 1.0 and labels["car"]["ap50_ci"] is None
    # Per source: every test image's source is listed, and the sources' counts add up to the split's.
    sources = data["sources"]
    stems = {p.stem.split("__", 1)[0] for p in (real_dataset / "images" / "test").iterdir()}
    assert set(sources) == stems
    for label in ("bicycle", "person"):
        for key in ("images", "instances", "negatives"):
            assert sum(rows[label][key] for rows in sources.values()) == labels[label][key]
    # Bicycles are boxed by one source only, so its AP50 is the split's, and it is that label's worst source.
    assert sources["bicycle_rf2000"]["bicycle"]["ap50"] == bicycle["ap50"]
    if bicycle["instances"] >= 10:
        assert data["worst_source"]["bicycle"] == {"source": "bicycle_rf2000", "ap50": bicycle["ap50"]}
    assert "| bicycle | bicycle_rf2000 |" in table and "Per source:" in table


def test_eval_against_a_baseline_prints_the_change_per_label_and_source(
    real_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shipped model scores bicycle with the COCO network inside it, the same weights as the COCO model's own
    report = tmp_path / "eval.json"
    args = ["eval", str(real_dataset), "--model", str(DEFAULT_MODEL), "--baseline", str(COCO_MODEL), "--imgsz", "512"]
    assert main([*args, "--rounds", "200", "--json", str(report)]) == 0
    table = capsys.readouterr().out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["baseline"]["model"] == str(COCO_MODEL)
    changes = {(ch["label"], ch["source"]): ch for ch in data["changes"]}
    # only the labels both models predict are compared
    assert {label for label, _ in changes} <= {"person", "car", "truck", "bus", "motorcycle", "bicycle"}
    bicycle = changes["bicycle", None]
    assert bicycle["change"] == pytest.approx(0.0, abs=0.02) and bicycle["verdict"] == "no clear change"
    assert "AP50 change from yolo26n-coco.onnx to gridwatch-yolo26n.onnx" in table and "| bicycle | **all** |" in table


def test_eval_baseline_needs_resamples(real_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["eval", str(real_dataset), "--baseline", str(COCO_MODEL), "--rounds", "0"]
    assert main(args) == 2
    assert "--rounds" in capsys.readouterr().err


def test_eval_rejects_threshold_for_unshared_label(real_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(real_dataset), "--model", str(COCO_MODEL), "--class-conf", "graffiti=0.5"]) == 2
    assert "graffiti" in capsys.readouterr().err


def test_eval_draws_failure_cases(real_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # At 0.99 every bicycle is missed: the worst images are drawn and named with their source file.
    failures = tmp_path / "failures"
    assert main(["eval", str(real_dataset), "--class-conf", "bicycle=0.99", "--failures", str(failures)]) == 0
    assert "failure cases drawn" in capsys.readouterr().out
    missed = sorted(failures.glob("bicycle_missed_*.jpg"))
    assert 1 <= len(missed) <= 2  # at most two per label and kind
    index = (failures / "index.md").read_text(encoding="utf-8")
    assert all(p.name in index for p in missed) and "bicycle_rf2000__" in index
    image = cv2.imread(str(missed[0]))
    assert image is not None and image.shape[1] == 480
