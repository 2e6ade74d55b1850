"""``gridwatch train``: fine-tune a pretrained YOLO on a GridWatch dataset with Ultralytics, resumably."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from training.camera_augment import camera_transforms
from training.evaluate import yaml_names
from training.recipe import Recipe
from training.sampling import write_balanced_data_yaml


def resolve_base(recipe: Recipe, weights_dir: Path) -> Path:
    """The pretrained weights file of ``recipe``: a path, or a file name inside ``weights_dir``.

    Raises:
        FileNotFoundError: the weights are missing (nothing is downloaded).
    """
    for candidate in (Path(recipe.base), weights_dir / recipe.base):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"pretrained weights {recipe.base!r} not found as a path or in {weights_dir}; nothing is downloaded"
    )


def continue_trainer() -> type:
    """An Ultralytics detection trainer that trains the given checkpoint's network as it is.

    Ultralytics rebuilds the network from its YAML for the dataset's class count and copies over the weights
    whose shapes match. That is right for a COCO base, but it silently re-initialises parts of a GridWatch model
    whose head was built differently (e.g. one recovered from a shipped ONNX by ``gridwatch unfuse``, whose
    classification branch is 80 channels wide): continuing such a model must keep every weight.
    """
    from ultralytics.models.yolo.detect import DetectionTrainer

    class ContinueTrainer(DetectionTrainer):  # type: ignore[misc]
        def get_model(self, cfg: Any = None, weights: Any = None, verbose: bool = True) -> Any:
            if weights is None:
                return super().get_model(cfg, weights, verbose)
            model = copy.deepcopy(weights).float()
            for param in model.parameters():
                param.requires_grad_(True)
            return self.set_model_names_for_load(model)

    return ContinueTrainer


def train(recipe: Recipe, data_yaml: Path, run_dir: Path, *, weights_dir: Path, resume: bool = False) -> Path:
    """Train and return the best checkpoint (``run_dir/weights/best.pt``).

    Args:
        recipe: the training settings.
        data_yaml: the dataset's ``data.yaml`` written by ``gridwatch dataset build``.
        run_dir: where Ultralytics writes checkpoints, plots and ``results.csv``.
        weights_dir: folder of pretrained weights (``shared/weights``).
        resume: continue the interrupted run in ``run_dir`` from ``weights/last.pt`` (same recipe).

    Raises:
        ValueError: ``run_dir`` already holds a run and ``resume`` is off, or ``resume`` without a run.
        FileNotFoundError: missing dataset or weights.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the network
    import ultralytics.utils.torch_utils as torch_utils
    from ultralytics import YOLO

    # Ultralytics trains on the CPU with cpu_count - 1 threads and loads data in the same process: on a
    # 2-core machine that leaves one core idle.
    torch_utils.NUM_THREADS = recipe.threads or os.cpu_count() or 1

    last = run_dir / "weights" / "last.pt"
    if resume:
        if not last.is_file():
            raise ValueError(f"nothing to resume: {last} does not exist")
        checkpoint = YOLO(str(last))
        keep = tuple(checkpoint.names.values()) == yaml_names(Path(checkpoint.ckpt["train_args"]["data"]))
        checkpoint.train(resume=True, **({"trainer": continue_trainer()} if keep else {}))
    else:
        if last.exists():
            raise ValueError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --run")
        if not data_yaml.is_file():
            raise FileNotFoundError(f"dataset not found: {data_yaml} (run gridwatch dataset build first)")
        base = resolve_base(recipe, weights_dir)
        if recipe.source_balance is not None:
            data_yaml, summary = write_balanced_data_yaml(data_yaml, run_dir, recipe.source_balance)
            print(f"source-balanced train list (images x repeats): {summary}", flush=True)
        extra: dict[str, object] = {}
        if recipe.camera_augment:
            extra["augmentations"] = camera_transforms(recipe.camera_augment)
        model = YOLO(str(base))
        if tuple(model.names.values()) == yaml_names(data_yaml):
            # Continuing a GridWatch model on the same labels: train its network whole (continue_trainer).
            extra["trainer"] = continue_trainer()
        model.train(
            data=str(data_yaml.resolve()),
            project=str(run_dir.parent.resolve()),
            name=run_dir.name,
            exist_ok=True,
            plots=False,
            **recipe.ultralytics_args(),
            **extra,
        )
    best = run_dir / "weights" / "best.pt"
    return best if best.is_file() else last
