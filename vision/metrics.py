"""Detection metrics: COCO-style box AP per label and image-level precision/recall at operating thresholds.

Pure numpy over boxes already in one coordinate system; no file or model access. "Ignore-aware": each
image says which labels its source annotates exhaustively (``ImageEval.labelled``); for the other labels
the image contributes nothing at all (its boxes and detections of them are neither TP, FP nor FN).
Undefined values (a label with no ground truth, a 0/0 rate) are NaN, never 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision.boxes import box_iou

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

IOU_THRESHOLDS: FloatArray = np.linspace(0.5, 0.95, 10)
RECALL_POINTS: FloatArray = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class ImageEval:
    """Ground truth and detections of one image, classes indexed 0..C-1 in one label space.

    Attributes:
        gt_xyxy: (G, 4) ground-truth corners x1, y1, x2, y2.
        gt_class: (G,) label index of each ground-truth box.
        det_xyxy: (D, 4) detected corners, same coordinates as ``gt_xyxy``.
        det_score: (D,) detection scores in [0, 1].
        det_class: (D,) label index of each detection.
        labelled: (C,) True where the image's source annotates the label exhaustively.
    """

    gt_xyxy: npt.ArrayLike
    gt_class: npt.ArrayLike
    det_xyxy: npt.ArrayLike
    det_score: npt.ArrayLike
    det_class: npt.ArrayLike
    labelled: npt.ArrayLike


@dataclass(frozen=True)
class DetectionMetrics:
    """Per-label results; NaN marks "n/a".

    Attributes:
        iou_thresholds: (T,) IoU thresholds of the columns of ``ap``.
        images: (C,) labelled images with at least one ground-truth box of the label.
        instances: (C,) ground-truth boxes on labelled images.
        negatives: (C,) labelled images without a box of the label (the false-alarm denominator).
        ap: (C, T) 101-point interpolated AP per IoU threshold; NaN where the label has no ground truth.
        precision: (C,) image-level precision at the operating thresholds.
        recall: (C,) image-level recall at the operating thresholds.
        false_alarm: (C,) share of negative images with a detection at or above the threshold.
    """

    iou_thresholds: FloatArray
    images: IntArray
    instances: IntArray
    negatives: IntArray
    ap: FloatArray
    precision: FloatArray
    recall: FloatArray
    false_alarm: FloatArray

    @property
    def ap50(self) -> FloatArray:
        """(C,) AP at IoU 0.50."""
        return self.ap[:, 0]

    @property
    def ap50_95(self) -> FloatArray:
        """(C,) AP averaged over IoU 0.50:0.05:0.95."""
        return np.asarray(self.ap.mean(axis=1), np.float64)


def match_detections(iou: npt.ArrayLike, iou_thresholds: FloatArray = IOU_THRESHOLDS) -> BoolArray:
    """Greedy COCO matching of one image and one label.

    Detections, in descending score order, each take the still unmatched ground-truth box they overlap
    most, if that IoU reaches the threshold; every threshold is matched independently.

    Args:
        iou: (D, G) IoU of detections (rows, sorted by descending score) with ground-truth boxes.
        iou_thresholds: (T,) thresholds.

    Returns:
        (D, T) True where the detection is a true positive at that threshold.
    """
    iou = np.asarray(iou, np.float64)
    n_det, n_gt = iou.shape
    tp = np.zeros((n_det, len(iou_thresholds)), dtype=bool)
    if n_gt == 0:
        return tp
    taken = np.zeros((len(iou_thresholds), n_gt), dtype=bool)
    cols = np.arange(len(iou_thresholds))
    # The order of detections matters (greedy), so only this loop is sequential; thresholds are vectorised.
    for d in range(n_det):
        free = np.where(taken, -1.0, iou[d][None, :])  # (T, G)
        best = free.argmax(axis=1)
        hit = free[cols, best] >= iou_thresholds
        tp[d] = hit
        taken[cols[hit], best[hit]] = True
    return tp


def average_precision(tp: npt.ArrayLike, score: npt.ArrayLike, n_gt: int) -> FloatArray:
    """COCO 101-point interpolated AP of one label over all images.

    Args:
        tp: (N, T) true-positive flags of every detection of the label at each IoU threshold.
        score: (N,) detection scores.
        n_gt: ground-truth boxes of the label.

    Returns:
        (T,) AP per threshold: precision envelope sampled at recall 0, 0.01, ..., 1 (0 past the highest
        recall reached) and averaged; NaN when ``n_gt`` is 0.
    """
    tp = np.asarray(tp, bool)
    if n_gt == 0:
        return np.full(tp.shape[1], np.nan)
    order = np.argsort(-np.asarray(score, np.float64), kind="mergesort")  # stable, as COCO sorts
    tp_sum = np.cumsum(tp[order], axis=0)
    fp_sum = np.cumsum(~tp[order], axis=0)
    recall = tp_sum / n_gt
    precision = tp_sum / np.maximum(tp_sum + fp_sum, 1)
    envelope = np.flip(np.maximum.accumulate(np.flip(precision, axis=0), axis=0), axis=0)
    padded = np.vstack((envelope, np.zeros((1, tp.shape[1]))))  # index N: recall point never reached
    first = np.stack([np.searchsorted(recall[:, t], RECALL_POINTS, side="left") for t in range(tp.shape[1])], axis=1)
    return np.asarray(padded[first, np.arange(tp.shape[1])].mean(axis=0), np.float64)


def _rate(num: IntArray, den: IntArray) -> FloatArray:
    return np.asarray(np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0), np.float64)


def evaluate(
    images: Sequence[ImageEval], thresholds: npt.ArrayLike, iou_thresholds: FloatArray = IOU_THRESHOLDS
) -> DetectionMetrics:
    """Box AP and image-level precision/recall/false-alarm rate per label.

    Args:
        images: every image of the split, ground truth and detections (detections down to a low score, so
            that AP sees the whole precision-recall curve).
        thresholds: (C,) operating score threshold per label: an image is predicted positive for a label
            when it has a detection scoring at least this.
        iou_thresholds: (T,) IoU thresholds for AP.

    Returns:
        Per-label metrics over the images where the label is annotated exhaustively.
    """
    thr = np.asarray(thresholds, np.float64)
    n_cls = len(thr)
    n_img = len(images)
    gt_count = np.zeros((n_img, n_cls), np.int64)
    top_score = np.full((n_img, n_cls), -np.inf)
    labelled = np.zeros((n_img, n_cls), bool)
    tps: list[list[BoolArray]] = [[] for _ in range(n_cls)]
    scores: list[list[FloatArray]] = [[] for _ in range(n_cls)]
    for i, im in enumerate(images):
        lab = np.asarray(im.labelled, bool).reshape(n_cls)
        gt_xyxy = np.asarray(im.gt_xyxy, np.float64).reshape(-1, 4)
        gt_cls = np.asarray(im.gt_class, np.int64).reshape(-1)
        det_xyxy = np.asarray(im.det_xyxy, np.float64).reshape(-1, 4)
        det_score = np.asarray(im.det_score, np.float64).reshape(-1)
        det_cls = np.asarray(im.det_class, np.int64).reshape(-1)
        labelled[i] = lab
        np.add.at(gt_count[i], gt_cls, 1)
        np.maximum.at(top_score[i], det_cls, det_score)
        for c in np.flatnonzero(lab & ((gt_count[i] > 0) | (top_score[i] > -np.inf))):
            dets = np.flatnonzero(det_cls == c)
            dets = dets[np.argsort(-det_score[dets], kind="mergesort")]
            tps[c].append(match_detections(box_iou(det_xyxy[dets], gt_xyxy[gt_cls == c]), iou_thresholds))
            scores[c].append(det_score[dets])

    gt_count = np.where(labelled, gt_count, 0)
    positive = labelled & (gt_count > 0)
    negative = labelled & (gt_count == 0)
    predicted = labelled & (top_score >= thr[None, :])
    instances = gt_count.sum(axis=0)
    n_pos = positive.sum(axis=0)
    true_pos = (positive & predicted).sum(axis=0)
    has_gt = instances > 0
    ap = np.stack(
        [
            average_precision(
                np.concatenate(tps[c]) if tps[c] else np.zeros((0, len(iou_thresholds)), bool),
                np.concatenate(scores[c]) if scores[c] else np.zeros(0),
                int(instances[c]),
            )
            for c in range(n_cls)
        ]
    ).reshape(n_cls, len(iou_thresholds))
    return DetectionMetrics(
        iou_thresholds=np.asarray(iou_thresholds, np.float64),
        images=n_pos,
        instances=instances,
        negatives=negative.sum(axis=0),
        ap=ap,
        precision=np.where(has_gt, _rate(true_pos, predicted.sum(axis=0)), np.nan),
        recall=_rate(true_pos, n_pos),
        false_alarm=_rate((negative & predicted).sum(axis=0), negative.sum(axis=0)),
    )
