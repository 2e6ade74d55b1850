"""The ``gridwatch`` command line: one module per command, each adding its parser with ``register``.

This package is the composition root: it may import the service, vision, training and dataset code, and it imports
the offline (training and dataset) commands' code only when such a command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import (
    blend,
    calibrate,
    curve,
    dataset,
    detect,
    evaluate,
    evidence,
    export,
    fuse,
    quantize,
    scan,
    serve,
    token,
    train,
    unfuse,
    user,
)
from domain.errors import GridWatchError

COMMANDS = (
    detect,
    scan,
    serve,
    user,
    token,
    evidence,
    export,
    evaluate,
    quantize,
    fuse,
    blend,
    calibrate,
    train,
    unfuse,
    curve,
    dataset,
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each sets ``func``, its ``run(args, out)``."""
    parser = argparse.ArgumentParser(
        prog="gridwatch", description="Spot urban-management violations in photos and camera feeds."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit status 2 for a refused request (a :class:`GridWatchError`), 130 when interrupted."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args, sys.stdout)
    except GridWatchError as exc:
        print(f"gridwatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
