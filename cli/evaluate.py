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
    non_negative_int,
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
    ev.add_argument(
        "--baseline",
        type=Path,
        metavar="MODEL",
        help="also evaluate this ONNX model on the same images and print, per label and source, the AP50 change "
        "with its 90 %% paired bootstrap interval (choose models on val, never on test)",
    )
    ev.add_argument(
        "--rounds",
        type=non_negative_int,
        default=1000,
        help="bootstrap resamples of whole clusters behind the AP50 intervals; 0: none (default 1000)",
    )
    ev.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    ev.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    ev.add_argument("--failures", type=Path, help="draw missed and false-alarm images per label into this folder")
    add_progress_flag(ev)
    ev.set_defaults(func=offline(run))


def _detector(args: argparse.Namespace, settings: Settings, model: Path) -> Detector:
    return Detector(
        model,
        providers=args.providers or settings.providers,
        precision=args.precision or settings.precision,
        conf=args.conf,
        imgsz=args.imgsz,
        threads=settings.threads,
        tuning_cache=settings.tuning_cache,
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    from training.evaluate import evaluate_split

    if args.baseline is not None and args.rounds < 1:
        raise ValueError("--baseline compares on bootstrap resamples: give --rounds 1 or more")
    settings = Settings()
    detector = _detector(args, settings, args.model or settings.model)
    baseline = None if args.baseline is None else _detector(args, settings, args.baseline)
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
            rounds=args.rounds,
            seed=args.seed,
        )
    finally:
        bar.close()
    out.write(report.markdown() + "\n")
    document = report.to_json()
    if baseline is not None:
        from training.compare import compare, markdown
        from training.evaluate import detect_split, read_clusters

        bar = Progress(0, enabled=args.progress)
        try:
            before = detect_split(
                args.dataset,
                baseline,
                split=args.split,
                pseudo_gt=args.pseudo_gt,
                batch_size=args.batch,
                progress=bar.update,
            )
        finally:
            bar.close()
        if reviewed is not None:
            from training.reviewed import apply_reviewed

            before = apply_reviewed(before, reviewed)
        changes = compare(
            before, found, read_clusters(args.dataset, found.paths)[0], rounds=args.rounds, seed=args.seed
        )
        out.write("\n" + markdown(changes, args.baseline.name, detector.path.name) + "\n")
        document["baseline"] = {"model": str(args.baseline), "sha256": baseline.info.sha256}
        document["changes"] = [
            {**vars(ch), "change": round(ch.new - ch.base, 4), "verdict": ch.verdict} for ch in changes
        ]
    if args.failures:
        from training.failures import write_failures

        written = write_failures(found, report.thresholds, args.failures)
        out.write(f"{len(written)} failure cases drawn in {args.failures}\n")
    if args.json:
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0
