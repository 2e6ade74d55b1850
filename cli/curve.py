"""``gridwatch curve``: a training run's learning curve (validation per epoch) as a Markdown table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, offline


def register(sub: Subparsers) -> None:
    cu = sub.add_parser("curve", help="validation figures per epoch of a training run (results.csv)")
    cu.add_argument("run", type=Path, help="run folder of `gridwatch train` (holds results.csv)")
    cu.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    from training.curve import curve_markdown, read_curve

    out.write(curve_markdown(read_curve(args.run / "results.csv")) + "\n")
    return 0
