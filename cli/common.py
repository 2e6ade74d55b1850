"""What the ``gridwatch`` commands share: argument types, common flags and the error translation of the offline
commands."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import TextIO, TypeAlias

from domain.errors import ClusterError, UsageError
from service.cluster.engine import parse_engine
from service.core.config import Settings
from vision.providers import PRECISIONS

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[[argparse.Namespace, TextIO], int]
"""A command's ``run(args, out)``: writes its results to ``out`` and returns the exit status."""


def offline(run: Command) -> Command:
    """A developer command over training/ or datasets/ code, which reports bad input (a recipe, a dataset, a model
    to fuse) as ``ValueError`` or a missing file: for these offline commands alone that is a usage error."""

    @functools.wraps(run)
    def checked(args: argparse.Namespace, out: TextIO) -> int:
        try:
            return run(args, out)
        except (ValueError, FileNotFoundError) as exc:
            raise UsageError(str(exc)) from exc

    return checked


def unit_float(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port between 1 and 65535, got {text}")
    return value


def label_score(text: str) -> tuple[str, float]:
    label, sep, value = text.partition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"takes LABEL=SCORE, got {text!r}")
    return label, unit_float(value)


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


def add_runtime_flags(parser: argparse.ArgumentParser) -> None:
    """``--providers`` and ``--precision``: which runtime runs the model (default: GRIDWATCH_PROVIDERS /
    GRIDWATCH_PRECISION, else auto)."""
    parser.add_argument(
        "--providers",
        help="inference runtime: auto (TensorRT or CUDA where installed; on a CPU, onnxruntime or OpenVINO FP32, "
        "whichever the model runs faster on this machine, measured once and cached), openvino, cpu, cuda, tensorrt "
        "(default auto)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="OpenVINO precision: auto (FP32, the one within the accuracy gate), fp32, bf16 (where native; faster, "
        "less accurate) (default auto)",
    )


def add_photo_flags(parser: argparse.ArgumentParser) -> None:
    """``--tiles`` and ``--text/--no-text``: the photo pipeline's tiling and text finder (default: GRIDWATCH_TILES,
    GRIDWATCH_TEXT_FINDER, else auto and on), the same for ``detect`` and ``scan``."""
    parser.add_argument(
        "--tiles",
        choices=("auto", "on", "off"),
        help="also detect in overlapping tiles: auto (photos at least twice the model input), on, off (default auto)",
    )
    parser.add_argument(
        "--text",
        action=argparse.BooleanOptionalAction,
        help="read the text on each photo to find small ads, joined to the detector's posters (default on)",
    )


def photo_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with the command line's ``--tiles`` and ``--text`` applied where given."""
    given = {"tiles": args.tiles, "text_finder": args.text}
    return settings.model_copy(update={k: v for k, v in given.items() if v is not None})


def cluster_address(text: str) -> str:
    try:
        return parse_engine(text).address
    except ClusterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_cluster_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        type=cluster_address,
        metavar="WHERE",
        help="local (this process), auto (RAY_ADDRESS or this machine's Ray), ray://head:10001 or host:port "
        "(default: GRIDWATCH_CLUSTER, else local; needs the [cluster] extra)",
    )
