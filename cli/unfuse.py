"""``gridwatch unfuse``: a trainable checkpoint rebuilt from a shipped ONNX detector (``[train]`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, offline, positive_int
from domain.errors import UsageError
from service.core.config import REPO_ROOT
from vision.sources import IMAGE_SUFFIXES


def register(sub: Subparsers) -> None:
    un = sub.add_parser(
        "unfuse", help="rebuild a trainable Ultralytics checkpoint from an exported or fused ONNX ([train] extra)"
    )
    un.add_argument("model", type=Path, help="dense-head ONNX detector exported by Ultralytics or gridwatch fuse")
    un.add_argument("--out", type=Path, required=True, help="checkpoint (.pt) to write")
    un.add_argument(
        "--images", type=Path, required=True, help="folder of real training photos for the BatchNorm statistics"
    )
    un.add_argument(
        "--base",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "weights" / "yolo26n.pt",
        help="Ultralytics checkpoint of the same architecture (default: shared/weights/yolo26n.pt)",
    )
    un.add_argument("--calibration-images", type=positive_int, default=96, help="photos for the statistics (96)")
    un.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.unfuse import unfuse
    except ImportError as exc:  # torch, ultralytics and onnx live in the [train] extra
        raise UsageError(f"unfuse needs the training extra (pip install -e '.[train]'): {exc}") from None
    if not args.images.is_dir():
        raise UsageError(f"--images: not a folder: {args.images}")
    photos = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    written = unfuse(args.model, args.out, base=args.base, images=photos, calibration_images=args.calibration_images)
    out.write(f"{written}\n")
    return 0
