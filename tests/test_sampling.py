"""Source-balanced training lists and the camera-imitating augmentations of the training recipe."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import HAS_TRAIN, SAMPLES
from training.sampling import balanced_list, repeat_factors, source_of, write_balanced_data_yaml
from vision.imageio import read_image


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("garbage_bin_overflow_cn__img_1_jpg.rf.abc.jpg", "garbage_bin_overflow_cn"),
        ("graffiti_gr__IMG_20190101_101010.jpg", "graffiti_gr"),
        ("amsterdam_reports__mdc_photo_cdv_photo_005_1506112838833.jpg", "amsterdam_reports"),
        ("synth_flyposting_00012__facades_spb__img_112.jpg", "synth"),
        ("plain_name_7.jpg", "plain_name"),
    ],
)
def test_source_of(name: str, source: str) -> None:
    assert source_of(Path(name)) == source


@pytest.mark.parametrize(
    ("counts", "alpha", "expected"),
    [
        ({"big": 1200, "mid": 300, "small": 75}, 1.0, {"big": 1, "mid": 1, "small": 1}),  # natural mix
        ({"big": 1200, "mid": 300, "small": 75}, 0.5, {"big": 1, "mid": 2, "small": 4}),  # square root
        ({"big": 1200, "mid": 300, "small": 75}, 0.0, {"big": 1, "mid": 4, "small": 16}),  # equal shares
        ({"big": 1200, "synth": 500, "small": 75}, 0.0, {"big": 1, "synth": 1, "small": 16}),  # synthetic never
        ({"big": 1000, "bigger": 1001}, 0.5, {"big": 1, "bigger": 1}),
    ],
)
def test_repeat_factors(counts: dict[str, int], alpha: float, expected: dict[str, int]) -> None:
    assert repeat_factors(counts, alpha) == expected


@pytest.mark.parametrize(("counts", "alpha"), [({"a": 10}, 1.5), ({"a": 10}, -0.1), ({"a": 10, "b": 0}, 0.5)])
def test_repeat_factors_refuse(counts: dict[str, int], alpha: float) -> None:
    with pytest.raises(ValueError, match=r"alpha|at least one"):
        repeat_factors(counts, alpha)


def test_balanced_list_shares_follow_the_square_root() -> None:
    images = [Path(f"big__{i}.jpg") for i in range(400)] + [Path(f"small__{i}.jpg") for i in range(25)]
    listed, table = balanced_list(images, 0.5)
    counts = Counter(source_of(p) for p in listed)
    assert table == {"big": (400, 1), "small": (25, 4)}
    assert counts == {"big": 400, "small": 100}  # 400:100 = sqrt(400):sqrt(25) * ... = 4:1, not 16:1
    assert set(listed) == set(images)  # nothing dropped


def test_write_balanced_data_yaml(tmp_path: Path) -> None:
    import yaml

    root = tmp_path / "ds"
    (root / "images" / "train").mkdir(parents=True)
    for name in ("a__1.jpg", "a__2.jpg", "a__3.jpg", "a__4.jpg", "b__1.jpg", "notes.txt"):
        (root / "images" / "train" / name).write_bytes(b"")
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: car\n", encoding="utf-8"
    )
    out, summary = write_balanced_data_yaml(root / "data.yaml", tmp_path / "run", 0.5)
    spec = yaml.safe_load(out.read_text(encoding="utf-8"))
    listed = Path(spec["train"]).read_text(encoding="utf-8").split()
    assert (spec["val"], spec["names"], spec["path"]) == ("images/val", {0: "car"}, str(root.resolve()))
    assert Counter(Path(p).name for p in listed) == {
        "a__1.jpg": 1,
        "a__2.jpg": 1,
        "a__3.jpg": 1,
        "a__4.jpg": 1,
        "b__1.jpg": 2,
    }
    assert summary == "a 4x1, b 1x2"


def test_write_balanced_data_yaml_refuses_an_empty_split(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text(f"path: {tmp_path}\ntrain: images/train\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="no train images"):
        write_balanced_data_yaml(tmp_path / "data.yaml", tmp_path / "run", 0.5)


needs_albumentations = pytest.mark.skipif(not HAS_TRAIN, reason="needs the [train] extra (albumentations)")


@needs_albumentations
def test_camera_transforms_change_pixels_only() -> None:
    import albumentations as A  # noqa: N812

    from training.camera_augment import camera_transforms

    transforms = camera_transforms(1.0)
    assert not any(isinstance(t, A.DualTransform) for t in transforms)  # boxes stay valid untouched
    pipeline = A.Compose(transforms, seed=0)
    image = read_image(sorted(SAMPLES.glob("*.jpg"))[0]).pixels
    changed = 0
    for _ in range(40):
        out = pipeline(image=image)["image"]
        assert out.shape == image.shape and out.dtype == np.uint8
        changed += int(not np.array_equal(out, image))
    # Each transform is applied by chance (measured: about half of the photos change): some, never all.
    assert 8 <= changed <= 36


@needs_albumentations
def test_camera_transforms_strength_and_round_trip() -> None:
    import albumentations as A  # noqa: N812

    from training.camera_augment import camera_transforms

    assert camera_transforms(0.0) == []
    half = camera_transforms(0.5)
    assert [t.p for t in half] == pytest.approx([t.p / 2 for t in camera_transforms(1.0)])
    restored = [A.from_dict(A.to_dict(t)) for t in half]  # how a resumed run gets them back from its checkpoint
    assert [type(t) for t in restored] == [type(t) for t in half]
    with pytest.raises(ValueError, match="strength"):
        camera_transforms(1.5)
