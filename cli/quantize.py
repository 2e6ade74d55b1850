"""``gridwatch quantize``: an INT8 copy of an ONNX model calibrated on real photos (``[train]`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, offline, positive_int
from domain.errors import UsageError
from vision.sources import IMAGE_SUFFIXES


def register(sub: Subparsers) -> None:
    quant = sub.add_parser("quantize", help="INT8 copy of an ONNX model, calibrated on real photos ([train] extra)")
    quant.add_argument("model", type=Path, help="FP32 ONNX model")
    quant.add_argument("--out", type=Path, required=True, help="INT8 ONNX file to write")
    quant.add_argument(
        "--calibration",
        type=Path,
        default=Path("data/datasets/gridwatch/images/train"),
        help="folder of real photos (default: the dataset's train split)",
    )
    quant.add_argument("--limit", type=positive_int, default=100, help="calibration photos used (default 100)")
    quant.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.quantize import quantize_int8
    except ImportError as exc:  # onnx lives in the [train] extra
        raise UsageError(f"quantize needs the training extra (pip install -e '.[train]'): {exc}") from None
    images = sorted(p for p in args.calibration.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    # Real photos only: synthetic ones would skew the activation ranges.
    images = [p for p in images if not p.name.startswith("synth_")][: args.limit]
    out.write(f"{quantize_int8(args.model, args.out, images)} ({len(images)} calibration images)\n")
    return 0
