"""Split assignment and the dataset builder, on tables and on a small real subset of ``shared/data``."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from datasets.build import BuildReport, build_dataset
from datasets.sources import SOURCES, iter_samples
from datasets.split import SPLITS, assign_splits, components, validate_fractions
from domain.taxonomy import LABEL_NAMES
from vision.detector import Detector

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared training data not found at {DATA}")
SUBSET = ("garbage_bin_overflow_cn", "bicycle_rf2000", "graffiti_gr", "garbage_street")
LIMIT = 6


# --- assign_splits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "dup", "together"),
    [
        (["a", "a", "b"], [0, 1, 2], [(0, 1)]),  # shared group key
        (["a", "b", "c"], [0, 0, 1], [(0, 1)]),  # duplicate id joins two groups
        (["a", "b", "b", "c"], [0, 1, 2, 2], [(1, 2), (1, 3)]),  # group then duplicate: transitive
        (["x", "y", "z", "x"], [5, 6, 6, 7], [(0, 3), (1, 2)]),
    ],
)
def test_components_stay_together(groups: list[str], dup: list[int], together: list[tuple[int, int]]) -> None:
    splits = assign_splits(groups, np.array(dup))
    for i, j in together:
        assert splits[i] == splits[j], (groups, dup, splits)


@pytest.mark.parametrize("link", ["group", "duplicate"])
def test_many_pairs_never_straddle(link: str) -> None:
    # 200 pairs: unlinked pairs would differ in ~1/3 of cases, so a missing link shows up.
    n = 400
    groups = [f"g{i // 2}" if link == "group" else f"g{i}" for i in range(n)]
    dup = np.arange(n) if link == "group" else np.arange(n) // 2
    splits = assign_splits(groups, dup)
    assert all(splits[2 * k] == splits[2 * k + 1] for k in range(n // 2))
    assert set(splits.tolist()) == set(SPLITS)


def test_deterministic_and_stable() -> None:
    groups = [f"src/img{i}" for i in range(300)]
    dup = np.arange(300)
    first = assign_splits(groups, dup)
    assert first.tolist() == assign_splits(groups, dup).tolist()
    # Unrelated images added before and after: nobody else moves.
    more = assign_splits(["aaa/new", *groups, "zzz/new"], np.arange(302))
    assert more[1:-1].tolist() == first.tolist()


def test_fractions_are_roughly_met() -> None:
    splits = assign_splits([f"k{i}" for i in range(4000)], np.arange(4000), (0.8, 0.1, 0.1))
    share = {s: float(np.mean(splits == s)) for s in SPLITS}
    assert abs(share["train"] - 0.8) < 0.03 and abs(share["val"] - 0.1) < 0.03, share


@pytest.mark.parametrize(("fractions", "expected"), [((1.0, 0.0, 0.0), "train"), ((0.0, 0.0, 1.0), "test")])
def test_degenerate_fractions(fractions: tuple[float, float, float], expected: str) -> None:
    assert set(assign_splits([f"k{i}" for i in range(50)], np.arange(50), fractions).tolist()) == {expected}


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.8, 0.2), "expected 3 fractions"),
        ((0.9, 0.2, -0.1), "non-negative"),
        ((0.5, 0.3, 0.1), "sum to 1"),
        ((float("nan"), 0.5, 0.5), "finite"),
    ],
)
def test_fraction_validation(fractions: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_fractions(fractions)
    with pytest.raises(ValueError, match=message):
        assign_splits(["a"], np.array([0]), fractions)


def test_source_overrides_apply_to_that_source_only() -> None:
    groups = [f"small/{i}" for i in range(2000)] + [f"big/{i}" for i in range(2000)]
    splits = assign_splits(groups, np.arange(4000), (0.8, 0.1, 0.1), {"small": (0.5, 0.15, 0.35)})
    small, big = splits[:2000], splits[2000:]
    assert abs(float(np.mean(small == "test")) - 0.35) < 0.04 and abs(float(np.mean(big == "test")) - 0.1) < 0.03
    # Without the override the big source's images land exactly where they did: adding one moves nothing else.
    assert splits[2000:].tolist() == assign_splits(groups[2000:], np.arange(2000), (0.8, 0.1, 0.1)).tolist()
    with pytest.raises(ValueError, match="sum to 1"):
        assign_splits(groups, np.arange(4000), (0.8, 0.1, 0.1), {"small": (0.5, 0.5, 0.5)})


def test_a_later_source_never_moves_older_images() -> None:
    """A photo of a new source linked (by dhash) to an old component follows it instead of re-keying it."""
    old = [f"graffiti_gr/run-{i}" for i in range(300)] + [f"bicycle_rf2000/{i}" for i in range(300)]
    dup = np.arange(600)
    before = assign_splits(old, dup)
    groups = [*old, "amsterdam_reports/a", "amsterdam_reports/b"]
    linked = np.concatenate((dup, [0, 301]))  # both new photos collide with old ones
    after = assign_splits(groups, linked, generation={"amsterdam_reports": 1})
    assert after[:600].tolist() == before.tolist()
    assert after[600] == after[0] and after[601] == after[301]
    # Without generations the new source's keys sort first ("a" < "b" < "g") and would re-key components.
    assert components(groups, linked)[0] == "amsterdam_reports/a"


def test_length_mismatch() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        assign_splits(["a", "b"], np.array([0]))


# --- build on real data ---------------------------------------------------------------------------


def _read_labels(path: Path) -> list[tuple[int, float, float, float, float]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        c, x, y, w, h = line.split()
        assert all(len(v.split(".")[1]) == 6 for v in (x, y, w, h)), line
        rows.append((int(c), float(x), float(y), float(w), float(h)))
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> tuple[Path, BuildReport]:
    if not DATA.is_dir():
        pytest.skip(f"shared training data not found at {DATA}")
    out = tmp_path_factory.mktemp("dataset") / "gw"
    report = build_dataset(DATA, out, sources=SUBSET, detector=detector, limit_per_source=LIMIT)
    return out, report


@needs_data
def test_layout_and_labels(built: tuple[Path, BuildReport]) -> None:
    out, report = built
    images = sorted((out / "images").glob("*/*.jpg"))
    assert len(images) == sum(report.images.values()) == len(SUBSET) * LIMIT - len(report.duplicates_dropped)
    for image in images:
        split = image.parent.name
        label = out / "labels" / split / f"{image.stem}.txt"
        assert label.is_file(), image
        for c, *box in _read_labels(label):
            assert 0 <= c < len(LABEL_NAMES)
            assert all(0.0 <= v <= 1.0 for v in box)
    # Original bytes, not re-encoded.
    sample = next(iter(iter_samples(DATA, ["graffiti_gr"])))
    copies = list((out / "images").glob(f"*/graffiti_gr__{sample.image.stem}.jpg"))
    assert len(copies) == 1 and copies[0].read_bytes() == sample.image.read_bytes()


@needs_data
def test_components_do_not_straddle_splits(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    split_of = {p.stem: p.parent.name for p in (out / "images").glob("*/*.jpg")}
    splits_by_group: dict[str, set[str]] = defaultdict(set)
    for s in iter_samples(DATA, SUBSET):
        name = f"{s.source}__{s.image.stem}"
        if name in split_of:
            splits_by_group[s.group].add(split_of[name])
    assert splits_by_group and all(len(v) == 1 for v in splits_by_group.values()), splits_by_group


@needs_data
def test_the_card_names_each_images_cluster(built: tuple[Path, BuildReport]) -> None:
    # evaluation resamples whole clusters: every written image has one, and photos of one group share it
    out, _ = built
    clusters = json.loads((out / "card.json").read_text(encoding="utf-8"))["clusters"]
    assert set(clusters) == {p.stem for p in (out / "images").glob("*/*.jpg")}
    cluster_by_group: dict[str, set[str]] = defaultdict(set)
    for s in iter_samples(DATA, SUBSET):
        name = f"{s.source}__{s.image.stem}"
        if name in clusters:
            cluster_by_group[s.group].add(clusters[name])
    assert all(len(v) == 1 for v in cluster_by_group.values())
    assert len(set(clusters.values())) < len(clusters)  # some photos do share a cluster


@needs_data
def test_pseudo_labels_respect_exhaustive_labels(built: tuple[Path, BuildReport]) -> None:
    out, report = built
    assert report.pseudo_by_source.get("garbage_bin_overflow_cn", {}).get("car", 0) > 0
    assert report.pseudo_by_source.get("bicycle_rf2000", {}).get("bicycle", 0) == 0
    bicycle = LABEL_NAMES.index("bicycle")
    for s in iter_samples(DATA, ["bicycle_rf2000"]):
        labels = list((out / "labels").glob(f"*/bicycle_rf2000__{s.image.stem}.txt"))
        if labels:
            rows = _read_labels(labels[0])
            assert sum(c == bicycle for c, *_ in rows) == int(np.sum(s.class_id == bicycle))


@needs_data
def test_card_and_yaml(built: tuple[Path, BuildReport]) -> None:
    out, report = built
    assert "poster" in report.unavailable
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "- poster: unavailable: no training data" in card
    assert "## Synthetic images (train only)\n\nNone." in card
    assert SOURCES["garbage_bin_overflow_cn"].licence in card and SOURCES["bicycle_rf2000"].origin in card
    yaml = (out / "data.yaml").read_text(encoding="utf-8")
    assert f'path: "{out.resolve()}"' in yaml and "val: images/val" in yaml
    for i, name in enumerate(LABEL_NAMES):
        assert f'  {i}: "{name}"' in yaml
    assert len(LABEL_NAMES) == 12
    assert (out / "card.json").is_file()


@needs_data
def test_refuses_non_empty_out(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    with pytest.raises(ValueError, match="not empty"):
        build_dataset(DATA, out, sources=SUBSET, detector=None, limit_per_source=1)


def _fake_root(tmp_path: Path) -> Path:
    """Two real sources' folder names; one photo planted in both (and twice in garbage_street), plus a
    distinct photo and a broken file."""
    root = tmp_path / "data"
    real = list(iter_samples(DATA, ["graffiti_gr"]))
    planted, other = real[0].image, real[-1].image
    for source, cls in (("garbage_bin_overflow_cn", 0), ("garbage_street", 1)):
        (root / source / "train" / "images").mkdir(parents=True)
        (root / source / "train" / "labels").mkdir(parents=True)
        shutil.copyfile(planted, root / source / "train" / "images" / "planted.jpg")
        (root / source / "train" / "labels" / "planted.txt").write_text(f"{cls} 0.5 0.5 0.2 0.2\n")
    shutil.copyfile(planted, root / "garbage_street" / "train" / "images" / "planted_copy.jpg")
    shutil.copyfile(other, root / "garbage_street" / "train" / "images" / "other.jpg")
    (root / "garbage_street" / "train" / "images" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    return root


@needs_data
def test_planted_duplicate_dropped_and_broken_skipped(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    out = tmp_path / "out"
    keep = tmp_path / "keep.txt"
    keep.write_text("outside out")
    report = build_dataset(root, out, sources=["garbage_bin_overflow_cn", "garbage_street"], detector=None)
    # the copy within one source is dropped; the look-alike in another source is kept in the same split
    assert len(report.duplicates_dropped) == 1
    assert report.duplicates_dropped[0]["path"].endswith("garbage_street/train/images/planted_copy.jpg")
    assert report.duplicates_dropped[0]["kept"].endswith("garbage_street/train/images/planted.jpg")
    assert [s["path"].endswith("broken.jpg") for s in report.skipped] == [True]
    assert sum(report.images.values()) == 3
    planted_splits = {p.parent.name for p in (out / "images").glob("*/*__planted.jpg")}
    assert len(list((out / "images").glob("*/*__planted.jpg"))) == 2 and len(planted_splits) == 1
    assert report.pseudo_model is None and sum(report.pseudo.values()) == 0
    # Overwrite clears out, and only out.
    report = build_dataset(root, out, sources=["garbage_street"], detector=None, overwrite=True)
    assert sum(report.images.values()) == 2 and len(list((out / "images").glob("*/*"))) == 2
    assert keep.read_text() == "outside out"
    with pytest.raises(ValueError, match="contains the source data"):
        build_dataset(root, tmp_path, sources=["garbage_street"], detector=None, overwrite=True)


@needs_data
def test_cli_dataset_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _fake_root(tmp_path)
    out = tmp_path / "cli-out"
    args = ["dataset", "build", "--data", str(root), "--out", str(out), "--sources", "garbage_street", "--no-pseudo"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "2 images written" in text and "poster" in text
    assert main(args) == 2  # non-empty out
    assert "not empty" in capsys.readouterr().err
    assert main([*args[:-3], "--sources", "nope", "--no-pseudo", "--overwrite"]) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err
