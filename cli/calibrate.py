"""``gridwatch calibrate``: per-label operating thresholds chosen on a split, stored in the model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, add_progress_flag, offline, positive_int, unit_float
from service.core.config import Settings
from service.progress import Progress
from vision.detector import Detector


def register(sub: Subparsers) -> None:
    cal = sub.add_parser("calibrate", help="choose per-label operating thresholds on a split (default val)")
    cal.add_argument("dataset", type=Path, help="dataset folder written by `gridwatch dataset build`")
    cal.add_argument("--split", default="val", choices=("train", "val", "test"), help="split (default val)")
    cal.add_argument("--model", type=Path, help="ONNX model (default: GRIDWATCH_MODEL or the shipped model)")
    cal.add_argument(
        "--max-false-alarm", type=unit_float, default=0.05, help="false-alarm rate cap per label (default 0.05)"
    )
    cal.add_argument(
        "--assume-absent",
        action="append",
        default=[],
        metavar="LABEL",
        help="calibrate LABEL as absent from every real image (labels learnt from synthetic data), repeatable",
    )
    cal.add_argument("--imgsz", type=positive_int, help="inference size in pixels (default: the model's)")
    cal.add_argument("--batch", type=positive_int, default=1, help="images per inference batch (default 1)")
    cal.add_argument("--write", action="store_true", help="store the thresholds in the model's ONNX metadata")
    add_progress_flag(cal)
    cal.set_defaults(func=offline(run))


def run(args: argparse.Namespace, out: TextIO) -> int:
    from training.calibrate import calibrate, markdown, write_thresholds
    from training.evaluate import AP_CONF, detect_split

    settings = Settings()
    model = args.model or settings.model
    detector = Detector(model, providers=settings.providers, conf=AP_CONF, imgsz=args.imgsz, threads=settings.threads)
    bar = Progress(0, enabled=args.progress)
    try:
        found = detect_split(args.dataset, detector, split=args.split, batch_size=args.batch, progress=bar.update)
    finally:
        bar.close()
    rows = calibrate(found, max_false_alarm=args.max_false_alarm, assume_absent=args.assume_absent)
    out.write(markdown(rows) + "\n")
    if args.write:
        write_thresholds(Path(model), {r.label: r.threshold for r in rows})
        out.write(f"thresholds written into {model}\n")
    return 0
