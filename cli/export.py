"""``gridwatch export``: Ultralytics weights to ONNX, or an FP16 copy (the ``[train]`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, offline, positive_int
from domain.errors import UsageError


def register(sub: Subparsers) -> None:
    export = sub.add_parser(
        "export", help="export Ultralytics .pt weights to ONNX, or make an FP16 copy ([train] extra)"
    )
    export.add_argument("weights", type=Path, help="Ultralytics detection checkpoint (.pt), or FP32 .onnx with --half")
    export.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    export.add_argument("--imgsz", type=positive_int, default=640, help="default input size (default 640)")
    export.add_argument(
        "--half", action="store_true", help="FP16 copy for GPU inference (FP32 input and output); WEIGHTS may be .onnx"
    )
    export.add_argument("--end2end", action="store_true", help="NMS-free head where the model has one (YOLO26)")
    export.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.export import export_onnx
    except ImportError as exc:  # ultralytics/torch live in the [train] extra
        raise UsageError(f"export needs the training extra (pip install -e '.[train]'): {exc}") from None
    path = export_onnx(args.weights, args.out, imgsz=args.imgsz, half=args.half, end2end=args.end2end)
    out.write(f"{path}\n")
    return 0
