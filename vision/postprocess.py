"""Decoding of YOLO output heads into boxes, and class-aware NMS.

Two head layouts are supported:
- dense (YOLOv8 / YOLO11): (B, 4 + C, N), rows cx, cy, w, h then one score per class, NMS needed;
- end-to-end (YOLO26): (B, K, 6), rows x1, y1, x2, y2, score, class, already de-duplicated.
All coordinates here are network-input pixels; the detector maps them back to the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class RawBoxes:
    """Boxes of one image in input pixels: xyxy (N, 4) float32, score (N,) float32, class_id (N,) int32."""

    xyxy: FloatArray
    score: FloatArray
    class_id: npt.NDArray[np.int32]


def nms(xyxy: FloatArray, score: FloatArray, class_id: npt.NDArray[np.int32], iou: float) -> npt.NDArray[np.intp]:
    """Greedy class-aware non-maximum suppression.

    Returns indices of kept boxes, highest score first. Boxes of different classes never suppress
    each other. Runs in OpenCV's C++ NMS, so no per-box Python loop.
    """
    if len(score) == 0:
        return np.zeros(0, np.intp)
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).astype(np.float64)
    # the stubs ask for sequences; OpenCV takes numpy arrays as they are
    keep = cv2.dnn.NMSBoxesBatched(xywh, score.astype(np.float64), class_id, 0.0, float(iou))  # type: ignore[arg-type]
    return np.asarray(keep, dtype=np.intp).reshape(-1)


def decode_dense(
    pred: FloatArray, thresholds: FloatArray, iou: float, max_det: int, max_candidates: int = 30000
) -> RawBoxes:
    """Decode one image's dense head output (4 + C, N) with per-class score thresholds (C,)."""
    scores = pred[4:]
    class_id = scores.argmax(axis=0).astype(np.int32)
    best = np.take_along_axis(scores, class_id[None], axis=0)[0]
    cand = np.flatnonzero(best >= thresholds[class_id])
    if len(cand) > max_candidates:
        cand = cand[np.argpartition(-best[cand], max_candidates)[:max_candidates]]
    cxcy = pred[:2, cand].T
    half = pred[2:4, cand].T / 2
    xyxy = np.concatenate([cxcy - half, cxcy + half], axis=1)
    keep = nms(xyxy, best[cand], class_id[cand], iou)[:max_det]
    return RawBoxes(xyxy[keep], best[cand][keep], class_id[cand][keep])


def decode_end2end(pred: FloatArray, thresholds: FloatArray, max_det: int) -> RawBoxes:
    """Decode one image's end-to-end head output (K, 6) with per-class score thresholds (C,)."""
    class_id = pred[:, 5].astype(np.int32)
    score = pred[:, 4]
    valid = (class_id >= 0) & (class_id < len(thresholds))
    keep = np.flatnonzero(valid)
    keep = keep[score[keep] >= thresholds[class_id[keep]]]
    keep = keep[np.argsort(-score[keep], kind="stable")][:max_det]
    return RawBoxes(pred[keep, :4].copy(), score[keep].copy(), class_id[keep])
