"""Source mappings and label parsing, on the real shared data and on small hand-written label files."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets.sources import (
    GRAFFITI_RUN_GAP_S,
    SOURCES,
    Sample,
    SourceSpec,
    chain_groups,
    graffiti_run_groups,
    iter_samples,
    parse_label_file,
    report_time_groups,
    reviewed_source_boxes,
    roboflow_group,
)
from domain.taxonomy import LABEL_NAMES
from vision.sources import IMAGE_SUFFIXES

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RF_SUFFIX = re.compile(r"_(?:jpe?g|png)\.rf\..*$")
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not present at {DATA}")


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    """Every sample of every source (parsing all ~2800 label files takes well under a second)."""
    return list(iter_samples(DATA))


def test_mappings_use_only_taxonomy_labels() -> None:
    for spec in SOURCES.values():
        targets = {t for t in spec.classes.values() if t is not None}
        assert targets <= set(LABEL_NAMES), spec.name
        assert spec.labelled <= set(LABEL_NAMES), spec.name
        # A source that boxes a label but did not box it everywhere would poison the negatives.
        assert targets <= spec.labelled, spec.name


@needs_data
def test_every_source_folder_has_a_spec() -> None:
    assert {p.name for p in DATA.iterdir() if p.is_dir()} == set(SOURCES)


@needs_data
def test_sample_counts_match_image_files(samples: list[Sample]) -> None:
    counts = Counter(s.source for s in samples)
    for name in SOURCES:
        on_disk = sum(1 for p in (DATA / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        assert counts[name] == on_disk > 0, name
    # Counts of the December 2026 data (shared/README.md agrees).
    assert counts == {
        "garbage_bin_overflow_cn": 1570,
        "garbage_street": 438,
        "maltese_trashbags": 203,
        "woosong_trashbags": 350,
        "graffiti_gr": 698,
        "graffiti_negatives": 100,
        "facades_spb": 471,
        "smartathon_vp": 597,
        "bicycle_rf2000": 150,
        "amsterdam_reports": 180,
    }


@needs_data
def test_samples_are_well_formed(samples: list[Sample]) -> None:
    for s in samples:
        assert s.image.is_file()
        assert s.class_id.dtype == np.int32 and s.class_id.shape == (len(s.class_id),)
        assert s.xywhn.dtype == np.float32 and s.xywhn.shape == (len(s.class_id), 4)
        assert np.all((s.xywhn >= 0) & (s.xywhn <= 1))
        assert set(s.names) <= s.labelled == SOURCES[s.source].labelled
        assert not s.class_id.flags.writeable


@needs_data
def test_mapped_labels_per_source(samples: list[Sample]) -> None:
    found: dict[str, set[str]] = defaultdict(set)
    for s in samples:
        found[s.source].update(s.names)
    assert found["garbage_bin_overflow_cn"] == {"garbage", "bin", "bin_overflow"}
    assert found["smartathon_vp"] == {"garbage", "graffiti", "debris"}
    assert found["facades_spb"] == set()
    assert found["amsterdam_reports"] == {"debris", "garbage"}
    assert found["graffiti_negatives"] == set()
    for name in ("garbage_street", "maltese_trashbags", "woosong_trashbags"):
        assert found[name] == {"garbage"}


@needs_data
def test_woosong_polygons_become_enclosing_boxes() -> None:
    label_file = next((DATA / "woosong_trashbags" / "train" / "labels").glob("*.txt"))
    rows = [line.split() for line in label_file.read_text().splitlines() if line.strip()]
    assert rows and all(len(r) > 5 for r in rows)
    class_id, xywhn = parse_label_file(label_file, SOURCES["woosong_trashbags"])
    assert len(class_id) == len(rows)
    assert set(class_id.tolist()) == {LABEL_NAMES.index("garbage")}
    x0, y0 = xywhn[:, 0] - xywhn[:, 2] / 2, xywhn[:, 1] - xywhn[:, 3] / 2
    x1, y1 = xywhn[:, 0] + xywhn[:, 2] / 2, xywhn[:, 1] + xywhn[:, 3] / 2
    eps = 1e-5
    for row, bx0, by0, bx1, by1 in zip(rows, x0, y0, x1, y1, strict=True):
        pts = np.array(row[1:], dtype=np.float64).reshape(-1, 2)
        assert np.all((pts[:, 0] >= bx0 - eps) & (pts[:, 0] <= bx1 + eps))
        assert np.all((pts[:, 1] >= by0 - eps) & (pts[:, 1] <= by1 + eps))
        # Tight: the extreme points touch the box.
        assert abs(pts[:, 0].min() - bx0) < eps and abs(pts[:, 1].max() - by1) < eps


def test_roboflow_copies_share_a_group() -> None:
    a = Path("train/images/000391_jpg.rf.9df0a97e95f80d7c9587c8643c31d5b7.jpg")
    b = Path("valid/images/000391_jpg.rf.0123456789abcdef0123456789abcdef.jpg")
    c = Path("valid/images/000392_jpg.rf.9df0a97e95f80d7c9587c8643c31d5b7.jpg")
    assert roboflow_group("src", a) == roboflow_group("src", b) == "src/000391"
    assert roboflow_group("src", c) != roboflow_group("src", a)
    assert roboflow_group("other", a) != roboflow_group("src", a)
    assert roboflow_group("src", Path("IMG_4449_jpeg.rf.27.jpg")) == "src/IMG_4449"
    assert roboflow_group("src", Path("img_323.jpg")) == "src/img_323"


@needs_data
def test_real_roboflow_names_parse(samples: list[Sample]) -> None:
    copies = [s for s in samples if ".rf." in s.image.name]
    assert len(copies) > 1000
    for s in copies:
        name = RF_SUFFIX.sub("", s.image.name)
        assert s.group == f"{s.source}/{name}", s.image


def test_chain_groups() -> None:
    assert chain_groups([], 10) == []
    # Unsorted input; 0-5-12 chain (each gap < 10), 30 stands alone, 45-50 chain.
    assert chain_groups([50, 0, 12, 30, 5, 45], 10) == [2, 0, 0, 1, 0, 2]
    # The gap is exclusive: exactly max_gap apart starts a new run.
    assert chain_groups([0, 10], 10) == [0, 1]


def test_graffiti_runs_on_names() -> None:
    names = [
        "IMG_20180724_150626",
        "IMG_20180724_150700",  # 34 s later: same run
        "IMG_20180724_150830",  # 90 s later: still the same run (chained)
        "IMG_20180724_153000",  # 21 minutes later: new run
        "IMG_20180723_235950",  # a day earlier, crossing midnight with the next one
        "IMG_20180724_000010",
        "IMG_1230",
        "IMG_1233",
        "IMG_1292",
        "odd_name",
    ]
    keys = graffiti_run_groups("graffiti_gr", [Path(f"{n}.jpg") for n in names])
    assert keys[0] == keys[1] == keys[2] == "graffiti_gr/run-IMG_20180724_150626"
    assert keys[3] not in keys[:3]
    assert keys[4] == keys[5] != keys[0]
    assert keys[6] == keys[7] != keys[8]
    assert keys[9] == "graffiti_gr/odd_name"
    assert len(set(keys)) == 6


@needs_data
def test_graffiti_real_runs(samples: list[Sample]) -> None:
    graffiti = sorted((s for s in samples if s.source == "graffiti_gr"), key=lambda s: s.image.name)
    by_name = {s.image.stem: s.group for s in graffiti}
    # Real neighbours: 21 s and 110 s apart share a run; 10 minutes and a day apart do not.
    assert by_name["IMG_20180712_221631"] == by_name["IMG_20180712_221652"]
    assert by_name["IMG_20180713_104906"] == by_name["IMG_20180713_105056"]
    assert by_name["IMG_20180713_105056"] != by_name["IMG_20180713_110059"]
    assert by_name["IMG_20180712_221713"] != by_name["IMG_20180713_104848"]
    stamps = sorted(n for n in by_name if len(n) == 19)

    def t(n: str) -> float:
        return datetime.strptime(n[4:], "%Y%m%d_%H%M%S").timestamp()

    for a, b in itertools.pairwise(stamps):
        same = by_name[a] == by_name[b]
        assert same == (t(b) - t(a) < GRAFFITI_RUN_GAP_S), (a, b)
    groups = Counter(by_name.values())
    assert 60 <= len(groups) <= 120 and max(groups.values()) <= 60


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("0 0.5 0.5 0.2", "expected 5 columns"),
        ("0 0.5 0.5 0.2 0.2 0.1", "expected 5 columns"),
        ("0 0.1 0.1 0.2 0.1 0.3 0.3 0.4", "expected 5 columns"),  # odd number of polygon coordinates
        ("0 0.1 0.1 0.2 0.2", None),  # control: valid
        ("0 0.1 0.1 0.2 0.1 0.3 0.3", None),  # control: valid triangle
        ("1 0.5 0.5 0.2 0.2", "unknown class id 1"),
        ("-1 0.5 0.5 0.2 0.2", "unknown class id -1"),
        ("zero 0.5 0.5 0.2 0.2", "non-numeric field"),
        ("0.0 0.5 0.5 0.2 0.2", "non-numeric field"),  # class ids are integers
        ("0 0.5 0.5 0.2 abc", "non-numeric field"),
        ("0 1.2 0.5 0.2 0.2", "outside"),
        ("0 0.5 -0.05 0.2 0.2", "outside"),
        ("0 0.5 0.5 nan 0.2", "outside"),
        ("0 0.1 0.1 0.2 1.5 0.3 0.3", "outside"),
        ("0 1.0005 0.5 0.2 0.2", None),  # rounding noise within tolerance, clipped
    ],
)
def test_malformed_lines(tmp_path: Path, line: str, why: str | None) -> None:
    label_file = tmp_path / "a.txt"
    label_file.write_text(f"0 0.5 0.5 0.1 0.1\n\n{line}\n")
    spec = SOURCES["graffiti_gr"]  # one class: 0 graffiti
    if why is None:
        class_id, xywhn = parse_label_file(label_file, spec)
        assert class_id.shape == (2,) and xywhn.shape == (2, 4)
        assert np.all((xywhn >= 0) & (xywhn <= 1))
    else:
        with pytest.raises(ValueError, match=why) as info:
            parse_label_file(label_file, spec)
        assert f"{label_file}:3:" in str(info.value)


def _write_source(root: Path, name: str, labels: dict[str, str | None]) -> None:
    images = root / name / "train" / "images"
    images.mkdir(parents=True)
    (root / name / "train" / "labels").mkdir()
    for stem, text in labels.items():
        (images / f"{stem}.jpg").write_bytes(b"")
        if text is not None:
            (root / name / "train" / "labels" / f"{stem}.txt").write_text(text)


def test_iter_samples_on_a_tiny_tree(tmp_path: Path) -> None:
    _write_source(
        tmp_path,
        "smartathon_vp",
        {
            "a_jpg.rf.aa": "5 0.5 0.5 0.2 0.2\n7 0.1 0.1 0.1 0.1\n2 0.2 0.2 0.1 0.1\n",
            "a_jpg.rf.bb": "",
            "b": None,  # no label file: no boxes
        },
    )
    out = {s.image.stem: s for s in iter_samples(tmp_path, ["smartathon_vp"])}
    assert out["a_jpg.rf.aa"].names == ("garbage", "debris")  # the pothole is dropped
    assert out["a_jpg.rf.aa"].group == out["a_jpg.rf.bb"].group == "smartathon_vp/a"
    assert len(out["a_jpg.rf.bb"].class_id) == len(out["b"].class_id) == 0
    assert out["b"].labelled == frozenset({"garbage", "graffiti", "debris"})


def test_iter_samples_rejects_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="unknown source"):
        list(iter_samples(tmp_path, ["nope"]))
    with pytest.raises(FileNotFoundError, match="bicycle_rf2000"):
        list(iter_samples(tmp_path, ["bicycle_rf2000"]))


def test_malformed_file_aborts_iteration(tmp_path: Path) -> None:
    _write_source(tmp_path, "bicycle_rf2000", {"x": "0 0.5 0.5 0.2\n"})
    with pytest.raises(ValueError, match=r"x\.txt:1: expected 5 columns"):
        list(iter_samples(tmp_path, ["bicycle_rf2000"]))


def test_loose_boxes_are_clipped_only_where_the_source_is_known_loose(tmp_path: Path) -> None:
    label_file = tmp_path / "a.txt"
    label_file.write_text("3 0.516667 0.641667 1.712500 0.909259\n")  # the real smartathon_vp line
    class_id, xywhn = parse_label_file(label_file, SOURCES["smartathon_vp"])
    assert [LABEL_NAMES[c] for c in class_id] == ["debris"]
    # x from -0.34 to 1.37 and y from 0.19 to 1.10 become the whole width and 0.19..1.
    np.testing.assert_allclose(xywhn[0], [0.5, (0.641667 - 0.909259 / 2 + 1) / 2, 1.0, 1 - (0.641667 - 0.909259 / 2)])
    label_file.write_text("0 0.5 0.5 1.7 0.2\n")
    with pytest.raises(ValueError, match="outside"):
        parse_label_file(label_file, SOURCES["graffiti_gr"])  # boxes of other sources stay strict


def test_report_photos_within_an_hour_share_a_group() -> None:
    names = [
        "mdc_photo_cdv_photo_001_1500000000000",
        "mdc_photo_cdv_photo_002_1500001000000",  # 1000 s later: the same report
        "mdc_photo_mdc_ab12cd_cdv_photo_001_1500009000000",  # 8000 s after the second: another
        "no_timestamp_here",
    ]
    keys = report_time_groups("amsterdam_reports", [Path(f"{n}.jpg") for n in names])
    assert keys[0] == keys[1] == "amsterdam_reports/run-mdc_photo_cdv_photo_001_1500000000000"
    assert len(set(keys)) == 3 and keys[3] == "amsterdam_reports/no_timestamp_here"


def _reviewed_tree(tmp_path: Path, boxes: dict[str, list[list[object]]]) -> tuple[SourceSpec, list[Path]]:
    """Two real-size photos in a source folder and a reviewed file boxing them."""
    folder = tmp_path / "amsterdam_reports" / "images"
    folder.mkdir(parents=True)
    images = []
    for name, (h, w) in (("a.jpg", (480, 640)), ("b.jpg", (640, 480))):
        assert cv2.imwrite(str(folder / name), np.full((h, w, 3), 128, np.uint8))
        images.append(folder / name)
    doc = {
        "schema_version": 1,
        "source": "amsterdam_reports",
        "labels": ["debris", "garbage"],
        "made_by": "a test",
        "method": "written by hand",
        "empty_boxes": "none present",
        "images": {name: {"boxes": b, "ignore": [[0, 0, 10, 10]]} for name, b in boxes.items()},
    }
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return replace(SOURCES["amsterdam_reports"], boxes_file=str(path)), images


def test_reviewed_source_boxes_become_normalised_yolo(tmp_path: Path) -> None:
    spec, images = _reviewed_tree(
        tmp_path, {"a.jpg": [["debris", 64, 48, 320, 240], ["garbage", 0, 0, 640, 480]], "b.jpg": []}
    )
    out = reviewed_source_boxes(spec, images)
    ids, xywhn = out["a.jpg"]
    assert [LABEL_NAMES[c] for c in ids] == ["debris", "garbage"]
    np.testing.assert_allclose(xywhn, [[0.3, 0.3, 0.4, 0.4], [0.5, 0.5, 1.0, 1.0]], atol=1e-6)
    assert out["b.jpg"][0].shape == (0,) and out["b.jpg"][1].shape == (0, 4)  # reviewed: nothing there


@pytest.mark.parametrize(
    ("boxes", "message"),
    [
        ({"a.jpg": []}, r"images not reviewed: \['b.jpg'\]"),
        ({"a.jpg": [], "b.jpg": [], "c.jpg": []}, r"not in the folder: \['c.jpg'\]"),
        ({"a.jpg": [["debris", 0, 0, 700, 100]], "b.jpg": []}, "outside the 640x480 image"),
        ({"a.jpg": [["graffiti", 0, 0, 10, 10]], "b.jpg": []}, "not among the file's labels"),
        ({"a.jpg": [["debris", 50, 0, 10, 10]], "b.jpg": []}, "x1 < x2"),
    ],
)
def test_reviewed_source_refusals(tmp_path: Path, boxes: dict[str, list[list[object]]], message: str) -> None:
    spec, images = _reviewed_tree(tmp_path, boxes)
    with pytest.raises(ValueError, match=message):
        reviewed_source_boxes(spec, images)


@needs_data
def test_amsterdam_boxes_cover_the_tagged_photos(samples: list[Sample]) -> None:
    """Every photo tagged by eye as showing bulky waste has a debris box, and none tagged without has one."""
    tags = json.loads((DATA / "amsterdam_reports" / "tags.json").read_text(encoding="utf-8"))
    boxed = {s.image.name: set(s.names) for s in samples if s.source == "amsterdam_reports"}
    assert set(boxed) == set(tags)
    with_debris = {name for name, labels in boxed.items() if "debris" in labels}
    tagged_yes = {name for name, t in tags.items() if t["debris"] == "yes"}
    tagged_no = {name for name, t in tags.items() if t["debris"] == "no"}
    # The reviewer may overrule a tag (the card lists where); allow a few, never many.
    assert len(tagged_yes - with_debris) <= 5 and len(with_debris & tagged_no) <= 5
