"""Training recipes are strict, and ``gridwatch train`` runs a real (tiny) Ultralytics fine-tune.

The fine-tune needs the [train] extra and ../shared/weights; it is skipped without them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from domain.taxonomy import LABEL_NAMES
from service.core.config import COCO_MODEL
from tests.conftest import HAS_TRAIN, ROOT, SAMPLES, SHARED_WEIGHTS
from training.recipe import Recipe, load_recipe
from vision.detector import Detector
from vision.imageio import read_image

SHIPPED_RECIPES = sorted((ROOT / "models").glob("recipe-*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_RECIPES, ids=lambda p: p.name)
def test_shipped_recipes_load(path: Path) -> None:
    recipe = load_recipe(path)
    assert (SHARED_WEIGHTS / recipe.base).name.endswith(".pt")
    assert "time" in recipe.ultralytics_args() or recipe.hours is None


def test_shipped_recipes_exist() -> None:
    assert {p.name for p in SHIPPED_RECIPES} >= {"recipe-cpu.yaml", "recipe-gpu.yaml"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("base: yolo26n.pt\nlearning_rate: 0.1\n", "learning_rate"),  # unknown key
        ("base: yolo26n.pt\nimgsz: 500\n", "imgsz"),  # not a multiple of the stride
        ("base: yolo26n.pt\ndevice: gpu\n", "device"),
        ("base: yolo26n.pt\nthreads: 0\n", "threads"),
        ("base: yolo26n.pt\nfreeze: 99\n", "freeze"),
        ("base: yolo26n.pt\naugment:\n  blur: 0.5\n", "augment"),
        ("imgsz: 512\n", "base"),  # missing
        ("base: [yolo26n.pt\n", "cannot read"),  # broken YAML
    ],
)
def test_bad_recipe_names_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=str(path)) as err:
        load_recipe(path)
    assert field in str(err.value)


def test_ultralytics_args_carry_budget_and_freeze() -> None:
    args = Recipe(base="yolo26n.pt", hours=1.5, freeze=6, lr0=0.005, augment={"mosaic": 0.5}).ultralytics_args()
    assert (args["time"], args["freeze"], args["lr0"], args["mosaic"]) == (1.5, 6, 0.005, 0.5)
    assert "threads" not in args  # applied by train(), not an Ultralytics argument
    assert "time" not in Recipe(base="yolo26n.pt").ultralytics_args()


def _tiny_dataset(root: Path) -> Path:
    """A YOLO dataset of the bundled sample photos, boxed by the COCO model (people and vehicles)."""
    coco = Detector(COCO_MODEL, conf=0.4)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for path in sorted(SAMPLES.glob("*.jpg")):
            image = read_image(path)
            det = coco.detect([image])[0]
            names = [coco.names[c] for c in det.class_id]
            keep = np.array([n in LABEL_NAMES for n in names], dtype=bool)
            w, h = image.width, image.height
            xyxy = det.xyxy[keep] / np.array([w, h, w, h])
            rows = [
                f"{LABEL_NAMES.index(n)} {(a + c) / 2:.6f} {(b + d) / 2:.6f} {c - a:.6f} {d - b:.6f}"
                for n, (a, b, c, d) in zip(np.array(names)[keep], xyxy, strict=True)
            ]
            (root / "images" / split / path.name).write_bytes(path.read_bytes())
            (root / "labels" / split / f"{path.stem}.txt").write_text("\n".join(rows), encoding="utf-8")
    listing = "\n".join(f"  {i}: {n}" for i, n in enumerate(LABEL_NAMES))
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n{listing}\n", encoding="utf-8")
    return data


def test_train_refuses_without_a_run_or_over_one(tmp_path: Path) -> None:
    pytest.importorskip("ultralytics")
    from training.train import train

    recipe = Recipe(base="yolo26n.pt")
    with pytest.raises(ValueError, match="nothing to resume"):
        train(recipe, tmp_path / "data.yaml", tmp_path / "run", weights_dir=SHARED_WEIGHTS, resume=True)
    with pytest.raises(FileNotFoundError, match="dataset build"):
        train(recipe, tmp_path / "data.yaml", tmp_path / "run", weights_dir=SHARED_WEIGHTS)
    (tmp_path / "data.yaml").write_text("names: {0: car}\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        train(Recipe(base="missing.pt"), tmp_path / "data.yaml", tmp_path / "run", weights_dir=SHARED_WEIGHTS)
    (tmp_path / "run" / "weights").mkdir(parents=True)
    (tmp_path / "run" / "weights" / "last.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="already holds a run"):
        train(recipe, tmp_path / "data.yaml", tmp_path / "run", weights_dir=SHARED_WEIGHTS)


@pytest.mark.train
@pytest.mark.skipif(not HAS_TRAIN or not (SHARED_WEIGHTS / "yolo26n.pt").is_file(), reason="needs [train] + weights")
def test_tiny_fine_tune_writes_a_checkpoint(tmp_path: Path) -> None:
    import torch
    import ultralytics.utils.torch_utils as torch_utils
    import yaml

    from training.train import train

    data = _tiny_dataset(tmp_path / "ds")
    recipe = Recipe(
        base="yolo26n.pt",
        imgsz=64,
        epochs=1,
        batch=4,
        threads=1,
        freeze=6,
        amp=False,
        workers=0,
        source_balance=0.5,
        camera_augment=1.0,
    )
    run = tmp_path / "runs" / "tiny"
    best = train(recipe, data, run, weights_dir=SHARED_WEIGHTS)
    assert best.is_file() and best.stat().st_size > 1_000_000
    assert torch_utils.NUM_THREADS == 1  # the recipe's thread count, not Ultralytics' cpu_count - 1
    assert (run / "results.csv").is_file()
    # The run trained on the balanced list, with the camera transforms stored for --resume.
    listed = (run / "train-balanced.txt").read_text(encoding="utf-8").split()
    assert len(listed) == len(list((tmp_path / "ds" / "images" / "train").glob("*.jpg")))  # one source: no repeats
    assert torch.load(best, weights_only=False)["train_args"]["data"] == str((run / "data-balanced.yaml").resolve())
    # The run's arguments (what an interrupted run's last.pt carries for --resume) hold the camera transforms.
    args = yaml.safe_load((run / "args.yaml").read_text(encoding="utf-8"))
    stored = [t["transform"]["__class_fullname__"] for t in args["augmentations"]]
    assert stored[0] == "Downscale" and stored[-1] == "ImageCompression"
