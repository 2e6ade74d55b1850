"""What tiles buy and cost on a real split: per-label AP50, recall of small boxes, time per photo.

Runs the detector on every image of ``DATASET/images/SPLIT`` with the full frame only, with tiles forced on
(:class:`vision.tiling.TileSettings`, ``mode="on"``, for each ``--grid``) and with the shipped rule (``mode="auto"``:
only photos whose long side is at least twice the model input), through the photo pipeline
(:class:`vision.pipeline.PhotoDetector`, text finder off), at the AP score floor, and scores both against the
split's boxes (:func:`training.evaluate.detect_split`; with ``--reviewed``, the vehicles reviewed by eye replace
the pseudo-labels on that file's images). Recall is counted at the model's shipped per-label thresholds, over
all boxes and over small ones (area under 32 x 32 photo pixels, COCO's "small"), a box found when a detection of
its label overlaps it by IoU >= 0.5. Time is measured side by side: per photo, full frame then each tiling, on
the first ``--time-photos`` photos, so a busy machine slows all of them alike (report ratios, not times).

    .venv/bin/python -m bench.tiling_eval --dataset data/datasets/gridwatch --split test --grid 2 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from training.detections import SplitDetections
from training.evaluate import AP_CONF, DEFAULT_THRESHOLD, detect_split
from training.reviewed import apply_reviewed, load_reviewed
from vision.boxes import box_iou
from vision.detector import Detector
from vision.imageio import read_image
from vision.metrics import evaluate
from vision.pipeline import PhotoDetector
from vision.tiling import TileSettings, detect_tiled

SMALL = 32 * 32


def _recall(found: SplitDetections, thresholds: np.ndarray, small: bool) -> dict[str, tuple[int, int]]:
    """Per label (found, total) ground-truth boxes at the operating thresholds, small ones only if ``small``."""
    out: dict[str, tuple[int, int]] = {}
    for c, name in enumerate(found.names):
        hit = total = 0
        for im in found.images:
            if not np.asarray(im.labelled)[c]:
                continue
            gt = np.asarray(im.gt_xyxy, np.float64).reshape(-1, 4)[np.asarray(im.gt_class) == c]
            if small:
                gt = gt[(gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]) < SMALL]
            keep = (np.asarray(im.det_class) == c) & (np.asarray(im.det_score) >= thresholds[c])
            det = np.asarray(im.det_xyxy, np.float64).reshape(-1, 4)[keep]
            total += len(gt)
            if len(gt) and len(det):
                hit += int((box_iou(gt, det) >= 0.5).any(axis=1).sum())
        if total:
            out[name] = (hit, total)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--model", type=Path, default=Path("models/gridwatch-yolo26n.onnx"))
    ap.add_argument("--grid", type=int, nargs="+", default=[2])
    ap.add_argument("--overlap", type=float, default=0.2)
    ap.add_argument("--modes", nargs="+", choices=("on", "auto"), default=["on", "auto"])
    ap.add_argument(
        "--small-side",
        nargs="+",
        default=["all"],
        help="tile boxes kept: under this many full-frame input pixels on the long side, or 'all' (compare several)",
    )
    ap.add_argument("--reviewed", type=Path, help="e.g. datasets/reviewed/vehicles-test.json")
    ap.add_argument("--time-photos", type=int, default=100)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    detector = Detector(args.model, providers="cpu", conf=AP_CONF, threads=1)
    reviewed = load_reviewed(args.reviewed) if args.reviewed else None
    # "on" tiles every photo (what tiles can do); "auto" tiles only the large ones (what ships by default)
    configs = {"full frame": TileSettings(mode="off")}
    for g in args.grid:
        for mode in args.modes:
            for small in args.small_side:
                side = None if small == "all" else float(small)
                configs[f"tiles {g}x {mode}, small_side {small}"] = TileSettings(
                    mode=mode, grid=g, overlap=args.overlap, small_side=side
                )
    report: dict[str, object] = {}
    for name, tiles in configs.items():
        found = detect_split(args.dataset, PhotoDetector(detector, tiles=tiles), split=args.split)  # type: ignore[arg-type]
        if reviewed is not None:
            found = apply_reviewed(found, reviewed)
        thresholds = np.array([detector.info.thresholds.get(n, DEFAULT_THRESHOLD) for n in found.names])
        metrics = evaluate(found.images, thresholds)
        report[name] = {
            "ap50": {n: round(float(metrics.ap[c, 0]), 3) for c, n in enumerate(found.names) if metrics.images[c]},
            "recall": _recall(found, thresholds, small=False),
            "recall_small": _recall(found, thresholds, small=True),
        }
        print(name, json.dumps(report[name]), flush=True)
    paths = sorted((args.dataset / "images" / args.split).glob("*"))[: args.time_photos]
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    for path in paths:
        photo = read_image(path)
        for name, tiles in configs.items():
            start = time.perf_counter()
            if not tiles.applies(photo.width, photo.height, detector.imgsz):
                detector.detect([photo])
            else:
                detect_tiled(detector, photo, tiles)
            seconds[name].append(time.perf_counter() - start)
    if paths:
        base = statistics.median(seconds["full frame"])
        report["time_ratio_median"] = {name: round(statistics.median(s) / base, 2) for name, s in seconds.items()}
        print(json.dumps(report["time_ratio_median"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
