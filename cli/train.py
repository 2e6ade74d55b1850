"""``gridwatch train``: fine-tune the pretrained YOLO on a built dataset (``[train]`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, offline, positive_int
from domain.errors import UsageError
from service.core.config import REPO_ROOT


def register(sub: Subparsers) -> None:
    train = sub.add_parser("train", help="fine-tune a pretrained YOLO on a built dataset (needs the [train] extra)")
    train.add_argument(
        "--recipe", type=Path, default=REPO_ROOT / "models" / "recipe-cpu.yaml", help="recipe YAML (default: CPU)"
    )
    train.add_argument(
        "--data",
        type=Path,
        default=Path("data/datasets/gridwatch/data.yaml"),
        help="dataset data.yaml (default data/datasets/gridwatch/data.yaml)",
    )
    train.add_argument(
        "--run", type=Path, default=Path("data/runs/gridwatch"), help="run folder (default data/runs/gridwatch)"
    )
    train.add_argument(
        "--weights-dir",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "weights",
        help="pretrained weights folder (default: shared/weights beside the repository)",
    )
    train.add_argument("--resume", action="store_true", help="continue the interrupted run in --run")
    train.add_argument("--export", type=Path, help="also export the best checkpoint to this ONNX file")
    train.add_argument("--export-imgsz", type=positive_int, help="default input size of the export (default: recipe)")
    train.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.export import export_onnx
        from training.recipe import load_recipe
        from training.train import train
    except ImportError as exc:  # ultralytics/torch live in the [train] extra
        raise UsageError(f"train needs the training extra (pip install -e '.[train]'): {exc}") from None
    recipe = load_recipe(args.recipe)
    best = train(recipe, args.data, args.run, weights_dir=args.weights_dir, resume=args.resume)
    out.write(f"best checkpoint: {best}\n")
    if args.export is not None:
        out.write(f"{export_onnx(best, args.export, imgsz=args.export_imgsz or recipe.imgsz)}\n")
    return 0
