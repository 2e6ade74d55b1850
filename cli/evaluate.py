"""``gridwatch eval``: per-label AP and image-level precision and recall on a dataset split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from cli.common import (
    Subparsers,
    add_progress_flag,
    add_runtime_flags,
    label_score,
    offline,
    positive_int,
    unit_float,
)
from service.core.config import Settings
from service.progress import Progress
from vision.detector import Detector


def register(sub: Subparsers) -> None:
    ev = sub.add_parser("eval", help="per-label AP and image-level precision/recall on a dataset split")
    ev.add_argument("dataset", type=Path, help="dataset folder written by `gridwatch dataset build`")
    ev.add_argument("--split", default="test", choices=("train", "val", "test"), help="split (default test)")
    ev.add_argument("--model", type=Path, help="ONNX model (default: GRIDWATCH_MODEL or the shipped model)")
    ev.add_argument("--conf", type=unit_float, default=0.001, help="score floor for AP (default 0.001)")
    ev.add_argument(
        "--class-conf",
        action="append",
        default=[],
        metavar="LABEL=SCORE",
        type=label_score,
        help="operating threshold for image-level P/R, repeatable (default: model metadata, else 0.25)",
    )
    ev.add_argument("--imgsz", type=positive_int, help="inference size in pixels (default: the model's)")
    ev.add_argument("--batch", type=positive_int, default=1, help="images per inference batch (default 1)")
    add_runtime_flags(ev)
    ev.add_argument(
        "--pseudo-gt",
        action="store_true",
        help="count the dataset's COCO pseudo-labels (person, vehicles) as ground truth on every image "
        "(agreement with the pseudo-labelling model, which itself scores about 1.0)",
    )
    ev.add_argument(
        "--reviewed",
        type=Path,
        metavar="FILE",
        help="reviewed ground truth (datasets/reviewed/*.json): evaluate only its images, scoring only its labels "
        "against its boxes, predictions mostly inside its ignore boxes dropped",
    )
    ev.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    ev.add_argument("--failures", type=Path, help="draw missed and false-alarm images per label into this folder")
    add_progress_flag(ev)
    ev.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    from training.evaluate import evaluate_split

    settings = Settings()
    detector = Detector(
        args.model or settings.model,
        providers=args.providers or settings.providers,
        precision=args.precision or settings.precision,
        conf=args.conf,
        imgsz=args.imgsz,
        threads=settings.threads,
        tuning_cache=settings.tuning_cache,
    )
    reviewed = None
    if args.reviewed is not None:
        from training.reviewed import load_reviewed

        reviewed = load_reviewed(args.reviewed)
    bar = Progress(0, enabled=args.progress)
    try:
        report, found = evaluate_split(
            args.dataset,
            detector,
            split=args.split,
            class_conf=dict(args.class_conf),
            pseudo_gt=args.pseudo_gt,
            batch_size=args.batch,
            progress=bar.update,
            reviewed=reviewed,
            reviewed_path=args.reviewed,
        )
    finally:
        bar.close()
    out.write(report.markdown() + "\n")
    if args.failures:
        from training.failures import write_failures

        written = write_failures(found, report.thresholds, args.failures)
        out.write(f"{len(written)} failure cases drawn in {args.failures}\n")
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0
