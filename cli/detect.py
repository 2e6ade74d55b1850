"""``gridwatch detect``: objects in image files, folders and zip archives, as text or JSONL."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import TextIO

from cli.common import (
    Subparsers,
    add_photo_flags,
    add_progress_flag,
    add_runtime_flags,
    label_score,
    photo_settings,
    positive_int,
    unit_float,
)
from service.core.config import Settings
from service.progress import Progress
from vision.detector import Detector
from vision.ocr import PosterReader
from vision.pipeline import PhotoResult, detect_sources, photo_detector
from vision.sources import iter_sources

DEFAULT_CONF = 0.25  # labels a model ships no threshold for


def result_record(result: PhotoResult) -> dict[str, object]:
    """The JSONL object for one image: detections in photo pixels, or ``{"path", "error"}``."""
    if result.detections is None:
        return {"path": result.path, "error": result.error}
    det = result.detections
    return {
        "path": result.path,
        "width": result.width,
        "height": result.height,
        "detections": [
            {"label": label, "score": round(score, 4), "xyxy": [round(v, 1) for v in box]}
            for label, score, box in zip(det.labels, det.score.tolist(), det.xyxy.tolist(), strict=True)
        ],
        "texts": [
            {
                "xyxy": [round(v, 1) for v in block.xyxy],
                "text": block.text,
                "phones": [p.number for p in block.phones],
                "small_ad": block.verdict.small_ad,
                "reasons": list(block.verdict.reasons),
            }
            for block in result.texts
        ],
    }


def _text_line(result: PhotoResult) -> str:
    if result.detections is None:
        return f"{result.path}: ERROR {result.error}"
    counts = Counter(result.detections.labels)
    found = ", ".join(f"{n} {label}" for label, n in counts.most_common()) or "nothing"
    return f"{result.path} ({result.width}x{result.height}): {found}"


def register(sub: Subparsers) -> None:
    detect = sub.add_parser("detect", help="detect objects in images, folders and zip archives")
    detect.add_argument("paths", nargs="+", help="image files, folders (searched recursively) or .zip archives")
    detect.add_argument("--model", type=Path, help="ONNX model (default: GRIDWATCH_MODEL or the shipped model)")
    detect.add_argument(
        "--conf",
        type=unit_float,
        help=f"minimum score for every label (default: the model's per-label thresholds, else {DEFAULT_CONF})",
    )
    detect.add_argument(
        "--class-conf",
        action="append",
        default=[],
        metavar="LABEL=SCORE",
        type=label_score,
        help="per-label minimum score, repeatable, e.g. --class-conf person=0.5",
    )
    detect.add_argument("--iou", type=unit_float, default=0.7, help="NMS IoU threshold (default 0.7)")
    detect.add_argument("--imgsz", type=positive_int, help="inference size in pixels (default: the model's)")
    detect.add_argument("--batch", type=positive_int, default=1, help="images per inference batch (default 1)")
    detect.add_argument("--workers", type=positive_int, default=2, help="decoding threads (default 2)")
    add_runtime_flags(detect)
    add_photo_flags(detect)
    detect.add_argument("--format", choices=("text", "jsonl"), default="text", help="output format (default text)")
    add_progress_flag(detect)
    detect.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    settings = photo_settings(args, Settings())
    detector = Detector(
        args.model or settings.model,
        providers=args.providers or settings.providers,
        precision=args.precision or settings.precision,
        # batches of photos: their images in parallel; one at a time: each as fast as possible
        mode="throughput" if args.batch > 1 else "latency",
        conf=DEFAULT_CONF if args.conf is None else args.conf,
        class_conf=dict(args.class_conf),
        iou=args.iou,
        imgsz=args.imgsz,
        threads=settings.threads,
        model_thresholds=args.conf is None,
        tuning_cache=settings.tuning_cache,
    )
    sources = list(iter_sources(args.paths))
    progress = Progress(len(sources), enabled=args.progress)
    failed = 0
    totals: Counter[str] = Counter()
    reader = PosterReader(threads=settings.threads) if settings.text_finder else None
    photos = photo_detector(detector, tiles=settings.tiles, reader=reader)  # the pipeline scan runs
    for result in detect_sources(sources, photos, batch_size=args.batch, workers=args.workers):
        if result.detections is None:
            failed += 1
        else:
            totals.update(result.detections.labels)
        if args.format == "jsonl":
            out.write(json.dumps(result_record(result), ensure_ascii=False) + "\n")
        else:
            out.write(_text_line(result) + "\n")
        progress.advance()
    progress.close()
    if args.format == "text":
        summary = ", ".join(f"{n} {label}" for label, n in totals.most_common()) or "nothing"
        out.write(f"{len(sources)} images, {failed} failed; found {summary}\n")
    return 1 if sources and failed == len(sources) else 0
