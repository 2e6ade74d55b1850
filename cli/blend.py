"""``gridwatch blend``: a fine-tune's weights pulled back towards its start (WiSE-FT; ``[train]`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, offline
from domain.errors import UsageError


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def register(sub: Subparsers) -> None:
    bl = sub.add_parser(
        "blend",
        help="average the weights of two exports of one network: START + WEIGHT x (TUNED - START) ([train] extra)",
    )
    bl.add_argument("start", type=Path, help="dense-head ONNX export the fine-tune started from")
    bl.add_argument("tuned", type=Path, help="dense-head ONNX export of the fine-tune (its labels are kept)")
    bl.add_argument("--weight", type=_share, required=True, help="share of the fine-tune, 0 to 1 (choose on val)")
    bl.add_argument("--out", type=Path, required=True, help="blended ONNX file to write")
    bl.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.blend import blend
    except ImportError as exc:  # onnx lives in the [train] extra
        raise UsageError(f"blend needs the training extra (pip install -e '.[train]'): {exc}") from None
    out.write(f"{blend(args.start, args.tuned, args.weight, args.out)}\n")
    return 0
