"""Pairwise geometry of xyxy boxes (pixels or normalised, any float type in; float64 out): overlap (IoU) and cover.

The one implementation behind the rules (matching boxes to slots), the metrics (matching detections to ground
truth) and the case store (same camera, same pile).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _boxes(a: npt.ArrayLike) -> FloatArray:
    return np.asarray(a, np.float64).reshape(-1, 4)


def _area(a: FloatArray) -> FloatArray:
    wh = np.clip(a[:, 2:] - a[:, :2], 0.0, None)
    return np.asarray(wh[:, 0] * wh[:, 1], np.float64)


def _intersection(a: FloatArray, b: FloatArray) -> FloatArray:
    """(A, B) intersection areas of (A, 4) and (B, 4) boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0.0, None)
    return np.asarray(wh[..., 0] * wh[..., 1], np.float64)


def box_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """(A, B) intersection over union of (A, 4) and (B, 4) xyxy boxes; 0 where a union is empty."""
    a, b = _boxes(a), _boxes(b)
    inter = _intersection(a, b)
    union = _area(a)[:, None] + _area(b)[None, :] - inter
    return np.asarray(np.divide(inter, union, out=np.zeros_like(inter), where=union > 0), np.float64)


def box_cover(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """(A, B) fraction of each box of ``a`` covered by each box of ``b`` (0 for an empty box of ``a``)."""
    a, b = _boxes(a), _boxes(b)
    inter = _intersection(a, b)
    area = np.broadcast_to(_area(a)[:, None], inter.shape)
    return np.asarray(np.divide(inter, area, out=np.zeros_like(inter), where=area > 0), np.float64)
