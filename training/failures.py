"""Failure cases of a model on a split: missed things and false alarms at the operating thresholds, drawn.

For the model card: per label, the labelled images where the label is present but no detection reaches the
threshold with IoU >= 0.5 (missed), and the images without the label where a detection reaches it (false
alarm), worst first, drawn with ground truth in green and detections at or above the threshold in red.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from training.detections import SplitDetections
from vision.boxes import box_iou
from vision.imageio import read_image

MATCH_IOU = 0.5


@dataclass(frozen=True)
class Failure:
    """One failure: ``kind`` is "missed" or "false alarm"; ``severity`` orders them (higher is worse)."""

    index: int
    label: str
    kind: str
    severity: float


def find_failures(found: SplitDetections, thresholds: npt.ArrayLike, per_label: int = 2) -> list[Failure]:
    """Up to ``per_label`` missed and ``per_label`` false-alarm images per label, worst first.

    Args:
        found: the split's ground truth and detections.
        thresholds: (C,) operating threshold per dataset label (NaN: not in the model, skipped).
        per_label: failures of each kind to keep per label.
    """
    thr = np.asarray(thresholds, np.float64)
    picked: list[Failure] = []
    for c, name in enumerate(found.names):
        if np.isnan(thr[c]):
            continue
        missed: list[Failure] = []
        alarms: list[Failure] = []
        for i, im in enumerate(found.images):
            if not np.asarray(im.labelled, bool)[c]:
                continue
            gt = np.asarray(im.gt_xyxy, np.float64).reshape(-1, 4)[np.asarray(im.gt_class) == c]
            keep = (np.asarray(im.det_class) == c) & (np.asarray(im.det_score) >= thr[c])
            det = np.asarray(im.det_xyxy, np.float64).reshape(-1, 4)[keep]
            if len(gt):
                found_gt = box_iou(gt, det).max(axis=1) >= MATCH_IOU if len(det) else np.zeros(len(gt), bool)
                if not found_gt.any():  # the image would not be reported for this label at all
                    missed.append(Failure(i, name, "missed", float(len(gt))))
            elif len(det):
                alarms.append(Failure(i, name, "false alarm", float(np.asarray(im.det_score)[keep].max())))
        for group in (missed, alarms):
            picked += sorted(group, key=lambda f: -f.severity)[:per_label]
    return picked


def draw_failure(
    found: SplitDetections, failure: Failure, thresholds: npt.ArrayLike, width: int = 480
) -> npt.NDArray[np.uint8]:
    """The image of ``failure`` (BGR, ``width`` px wide) with ground truth (green) and detections (red)."""
    thr = np.asarray(thresholds, np.float64)
    im = found.images[failure.index]
    pixels = read_image(found.paths[failure.index]).pixels.copy()
    scale = width / pixels.shape[1]
    pixels = np.ascontiguousarray(
        cv2.resize(pixels, (width, round(pixels.shape[0] * scale)), interpolation=cv2.INTER_AREA), np.uint8
    )
    for box, c in zip(np.asarray(im.gt_xyxy).reshape(-1, 4), np.asarray(im.gt_class), strict=True):
        x1, y1, x2, y2 = (np.asarray(box) * scale).astype(int)
        cv2.rectangle(pixels, (x1, y1), (x2, y2), (0, 200, 0), 2)
        cv2.putText(pixels, found.names[c], (x1 + 2, y2 - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 200, 0), 1)
    dets = zip(np.asarray(im.det_xyxy).reshape(-1, 4), np.asarray(im.det_class), np.asarray(im.det_score), strict=True)
    for box, c, score in dets:
        if score < thr[c]:
            continue
        x1, y1, x2, y2 = (np.asarray(box) * scale).astype(int)
        cv2.rectangle(pixels, (x1, y1), (x2, y2), (0, 0, 230), 2)
        cv2.putText(pixels, f"{found.names[c]} {score:.2f}", (x1 + 2, y1 + 14), 0, 0.45, (0, 0, 230), 1)
    return pixels


def write_failures(found: SplitDetections, thresholds: npt.ArrayLike, out: Path, per_label: int = 2) -> list[Path]:
    """Draw the failures of :func:`find_failures` into ``out`` as JPEGs plus an ``index.md`` naming the sources."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    lines = ["| file | label | kind | source image |", "|---|---|---|---|"]
    for n, failure in enumerate(find_failures(found, thresholds, per_label)):
        path = out / f"{failure.label}_{failure.kind.replace(' ', '_')}_{n:02d}.jpg"
        cv2.imwrite(str(path), draw_failure(found, failure, thresholds), [cv2.IMWRITE_JPEG_QUALITY, 80])
        written.append(path)
        lines.append(f"| {path.name} | {failure.label} | {failure.kind} | {found.paths[failure.index].name} |")
    (out / "index.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written
