"""``gridwatch fuse``: one ONNX model scoring some labels with a second model (``[train]`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, offline
from domain.errors import UsageError


def register(sub: Subparsers) -> None:
    fu = sub.add_parser("fuse", help="one ONNX model scoring some labels with a second model ([train] extra)")
    fu.add_argument("primary", type=Path, help="dense-head ONNX model whose labels and metadata are kept")
    fu.add_argument("secondary", type=Path, help="dense-head ONNX model with the same input, e.g. the COCO base")
    fu.add_argument("--take", required=True, help="comma-separated labels scored by the secondary model")
    fu.add_argument("--out", type=Path, required=True, help="fused ONNX file to write")
    fu.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.fuse import fuse
    except ImportError as exc:  # onnx lives in the [train] extra
        raise UsageError(f"fuse needs the training extra (pip install -e '.[train]'): {exc}") from None
    take = [label.strip() for label in args.take.split(",") if label.strip()]
    out.write(f"{fuse(args.primary, args.secondary, take, args.out)}\n")
    return 0
