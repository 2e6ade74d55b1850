"""``gridwatch dataset build``: one YOLO dataset with splits and a card from the public sources."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, add_progress_flag, offline, positive_int, unit_float
from domain.errors import UsageError
from service.core.config import COCO_MODEL, REPO_ROOT, Settings
from service.progress import Progress
from vision.detector import Detector

DEFAULT_SYNTHETIC = 500


def _synthetic_count(asked: int | None, sources: Sequence[str] | None) -> int:
    """``--synthetic``, or by default DEFAULT_SYNTHETIC when a background source is among ``sources``."""
    from datasets.build import SYNTH_BACKGROUNDS

    if asked is not None:
        return asked
    return DEFAULT_SYNTHETIC if sources is None or set(sources) & set(SYNTH_BACKGROUNDS) else 0


def register(sub: Subparsers) -> None:
    dataset = sub.add_parser("dataset", help="build training data (needs ../shared/data)")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True)
    build = dataset_sub.add_parser("build", help="write one YOLO dataset with splits and a dataset card")
    build.add_argument(
        "--data",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "data",
        help="source folders (default: shared/data beside the repository)",
    )
    build.add_argument(
        "--out",
        type=Path,
        default=Path("data/datasets/gridwatch"),
        help="dataset folder (default data/datasets/gridwatch)",
    )
    build.add_argument("--sources", help="comma-separated source names (default: all)")
    build.add_argument("--no-pseudo", action="store_true", help="no COCO pseudo-labels for vehicles and people")
    build.add_argument(
        "--pseudo-model",
        type=Path,
        default=COCO_MODEL,
        help="COCO model that pseudo-labels people and vehicles (default: the shipped COCO YOLO26n)",
    )
    build.add_argument(
        "--pseudo-conf", type=unit_float, default=0.4, help="minimum score of a pseudo-label (default 0.4)"
    )
    build.add_argument("--limit-per-source", type=positive_int, help="at most N images per source (quick builds)")
    build.add_argument(
        "--synthetic",
        type=int,
        help=f"synthetic flyposting images added to train (default {DEFAULT_SYNTHETIC} when a background "
        "source is included, else 0)",
    )
    build.add_argument("--seed", type=int, default=0, help="random seed of the synthetic images (default 0)")
    build.add_argument("--overwrite", action="store_true", help="clear a non-empty --out first")
    add_progress_flag(build)
    build.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here: dataset building is a developer task and needs nothing at detection time.
    from datasets.build import build_dataset

    settings = Settings()
    detector = (
        None if args.no_pseudo else Detector(args.pseudo_model, providers=settings.providers, threads=settings.threads)
    )
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    bar = Progress(0, enabled=args.progress)
    try:
        report = build_dataset(
            args.data,
            args.out,
            sources=sources,
            detector=detector,
            pseudo_conf=args.pseudo_conf,
            limit_per_source=args.limit_per_source,
            overwrite=args.overwrite,
            progress=bar.update,
            synthetic=_synthetic_count(args.synthetic, sources),
            seed=args.seed,
        )
    except (KeyError, FileNotFoundError) as exc:
        raise UsageError(str(exc).strip("'\"")) from None
    finally:
        bar.close()
    out.write(report.summary_table() + "\n")
    return 0
