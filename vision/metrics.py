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


@dataclass(frozen=True)
class _Matched:
    """Every image matched once, per label; what AP, image-level rates and resampled AP are computed from.

    Attributes:
        gt_count: (N, C) ground-truth boxes per image and label, 0 where the label is not annotated.
        top_score: (N, C) highest detection score per image and label (-inf: none).
        labelled: (N, C) labels annotated exhaustively per image.
        tp: per label, (D_c, T) true-positive flags of its detections on labelled images.
        score: per label, (D_c,) their scores.
        image: per label, (D_c,) index of the image each detection is on.
    """

    gt_count: IntArray
    top_score: FloatArray
    labelled: BoolArray
    tp: list[BoolArray]
    score: list[FloatArray]
    image: list[IntArray]


def _match(images: Sequence[ImageEval], n_cls: int, iou_thresholds: FloatArray) -> _Matched:
    n_img = len(images)
    gt_count = np.zeros((n_img, n_cls), np.int64)
    top_score = np.full((n_img, n_cls), -np.inf)
    labelled = np.zeros((n_img, n_cls), bool)
    tps: list[list[BoolArray]] = [[] for _ in range(n_cls)]
    scores: list[list[FloatArray]] = [[] for _ in range(n_cls)]
    owner: list[list[IntArray]] = [[] for _ in range(n_cls)]
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
            owner[c].append(np.full(len(dets), i, np.int64))
    n_t = len(iou_thresholds)
    return _Matched(
        gt_count=np.where(labelled, gt_count, 0),
        top_score=top_score,
        labelled=labelled,
        tp=[np.concatenate(t) if t else np.zeros((0, n_t), bool) for t in tps],
        score=[np.concatenate(x) if x else np.zeros(0) for x in scores],
        image=[np.concatenate(x) if x else np.zeros(0, np.int64) for x in owner],
    )


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
    m = _match(images, n_cls, iou_thresholds)
    positive = m.labelled & (m.gt_count > 0)
    negative = m.labelled & (m.gt_count == 0)
    predicted = m.labelled & (m.top_score >= thr[None, :])
    instances = m.gt_count.sum(axis=0)
    n_pos = positive.sum(axis=0)
    true_pos = (positive & predicted).sum(axis=0)
    has_gt = instances > 0
    ap = np.stack([average_precision(m.tp[c], m.score[c], int(instances[c])) for c in range(n_cls)]).reshape(
        n_cls, len(iou_thresholds)
    )
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


def cluster_weights(
    clusters: Sequence[str], strata: Sequence[str], rounds: int, rng: np.random.Generator
) -> FloatArray:
    """Bootstrap weights that resample whole clusters, within each stratum.

    Photos of one cluster (copies of a photo, one street run, one bin point) are not independent evidence, so a
    resample draws clusters, not photos; drawing within each stratum (source) keeps the split's mix of sources.

    Args:
        clusters: (N,) cluster key per image.
        strata: (N,) stratum per image; a cluster lies in one stratum.
        rounds: resamples R.
        rng: random generator (the same seed gives two models the same resamples, for a paired comparison).

    Returns:
        (R, N) how many times each image counts in each resample.
    """
    if len(clusters) != len(strata):
        raise ValueError(f"clusters and strata differ in length: {len(clusters)} vs {len(strata)}")
    weights = np.zeros((rounds, len(clusters)))
    keys = np.array([f"{s}\x00{c}" for s, c in zip(strata, clusters, strict=True)])
    stratum = np.asarray(strata)
    for name in sorted(set(stratum.tolist())):
        members = np.flatnonzero(stratum == name)
        uniq, which = np.unique(keys[members], return_inverse=True)
        drawn = rng.multinomial(len(uniq), np.full(len(uniq), 1.0 / len(uniq)), size=rounds)  # (R, K)
        weights[:, members] = drawn[:, which]
    return weights


def ap50_draws(images: Sequence[ImageEval], n_cls: int, weights: npt.ArrayLike) -> FloatArray:
    """AP50 per label in each bootstrap resample (images counted ``weights`` times), as :func:`evaluate` computes
    it on the resampled split.

    Args:
        images: (N) images, as for :func:`evaluate`.
        n_cls: labels C.
        weights: (R, N) times each image counts in each resample (:func:`cluster_weights`).

    Returns:
        (R, C) AP50; NaN where a resample holds no ground truth of the label.
    """
    w = np.asarray(weights, np.float64)
    if w.ndim != 2 or w.shape[1] != len(images):
        raise ValueError(f"weights must be (rounds, {len(images)}), got {w.shape}")
    m = _match(images, n_cls, IOU_THRESHOLDS[:1])
    draws = np.full((w.shape[0], n_cls), np.nan)
    for c in range(n_cls):
        order = np.argsort(-m.score[c], kind="mergesort")
        tp = m.tp[c][order, 0]
        owner = m.image[c][order]
        for start in range(0, w.shape[0], _ROUNDS_PER_CHUNK):  # (chunk, D) arrays stay a few MB
            chunk = w[start : start + _ROUNDS_PER_CHUNK]
            draws[start : start + len(chunk), c] = _weighted_ap(tp, owner, chunk, chunk @ m.gt_count[:, c])
    return draws


_ROUNDS_PER_CHUNK = 50


def _weighted_ap(tp: BoolArray, owner: IntArray, weights: FloatArray, n_gt: FloatArray) -> FloatArray:
    """(R,) 101-point AP of one label's detections (D,) sorted by descending score, on images ``owner`` (D,),
    each counted ``weights`` (R, N) times; ``n_gt`` (R,) its ground-truth boxes in each resample (NaN if 0)."""
    dw = weights[:, owner]  # (R, D): a detection counts as often as its image
    tp_sum = np.cumsum(dw * tp, axis=1)
    fp_sum = np.cumsum(dw * ~tp, axis=1)
    # A detection whose image was not drawn adds nothing to either sum: a repeated point of the curve, which
    # neither the envelope nor the recall sampling sees.
    recall = tp_sum / np.maximum(n_gt, 1e-12)[:, None]
    precision = tp_sum / np.maximum(tp_sum + fp_sum, 1e-12)
    envelope = np.flip(np.maximum.accumulate(np.flip(precision, axis=1), axis=1), axis=1)
    padded = np.hstack((envelope, np.zeros((len(weights), 1))))
    ap = np.full(len(weights), np.nan)
    for r in np.flatnonzero(n_gt > 0):
        ap[r] = padded[r, np.searchsorted(recall[r], RECALL_POINTS, side="left")].mean()
    return ap
