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
    fu.add_argument(
        "--evidence",
        action="append",
        metavar="LABEL=CLASS[:WEIGHT],...",
        help="the secondary model's CLASS boxes also propose LABEL, scored WEIGHT (default 1) x the class score, "
        "e.g. debris=couch,bed:0.9 (repeatable)",
    )
    fu.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.fuse import fuse
    except ImportError as exc:  # onnx lives in the [train] extra
        raise UsageError(f"fuse needs the training extra (pip install -e '.[train]'): {exc}") from None
    take = [label.strip() for label in args.take.split(",") if label.strip()]
    evidence: dict[str, dict[str, float]] = {}
    for spec in args.evidence or []:
        label, _, classes = spec.partition("=")
        try:
            evidence[label.strip()] = {
                name.strip(): float(weight or 1.0)
                for name, _, weight in (item.partition(":") for item in classes.split(",") if item.strip())
            }
        except ValueError:
            raise UsageError(f"--evidence {spec!r}: expected LABEL=CLASS[:WEIGHT],... with numeric weights") from None
    out.write(f"{fuse(args.primary, args.secondary, take, args.out, evidence=evidence)}\n")
    return 0
