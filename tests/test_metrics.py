"""Box AP and image-level metrics (vision.metrics) on hand-computed cases, and against Ultralytics."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from vision.boxes import box_iou
from vision.metrics import (
    IOU_THRESHOLDS,
    ImageEval,
    ap50_draws,
    average_precision,
    cluster_weights,
    evaluate,
    match_detections,
)

NAN = math.nan
BOX = [0.0, 0.0, 10.0, 10.0]
FAR = [50.0, 50.0, 60.0, 60.0]


def img(
    gt: list[list[float]],
    gt_cls: list[int],
    det: list[list[float]],
    score: list[float],
    det_cls: list[int],
    labelled: tuple[bool, ...] = (True,),
) -> ImageEval:
    return ImageEval(gt, gt_cls, det, score, det_cls, labelled)


def test_box_iou_values_and_empty() -> None:
    iou = box_iou([BOX, [0.0, 0.0, 10.0, 5.0]], [BOX, [5.0, 0.0, 15.0, 10.0], FAR])
    np.testing.assert_allclose(iou, [[1, 1 / 3, 0], [0.5, 0.2, 0]])
    assert box_iou(np.zeros((0, 4)), [BOX]).shape == (0, 1)
    assert box_iou([[3, 3, 3, 3]], [[3, 3, 3, 3]])[0, 0] == 0  # degenerate boxes: no union, no overlap


def test_match_takes_best_free_box_in_score_order() -> None:
    # Detection 0 (higher score) overlaps both boxes, GT 1 best; detection 1 then gets GT 0.
    iou = np.array([[0.55, 0.9], [0.8, 0.95]])
    tp = match_detections(iou, np.array([0.5, 0.7, 0.85]))
    np.testing.assert_array_equal(tp, [[True, True, True], [True, True, False]])
    assert match_detections(np.zeros((2, 0))).shape == (2, len(IOU_THRESHOLDS))


def test_average_precision_hand_computed() -> None:
    # TP, FP, TP, FP over 3 boxes: precision 1, 1/2, 2/3, 1/2 at recall 1/3, 1/3, 2/3, 2/3.
    # Envelope 1 for recall points 0..0.33 (34 points), 2/3 for 0.34..0.66 (33), 0 beyond (34).
    ap = average_precision(np.array([[1], [0], [1], [0]], bool), np.array([0.9, 0.8, 0.7, 0.6]), 3)
    assert ap[0] == pytest.approx((34 + 33 * 2 / 3) / 101)
    # Scores, not input order, rank the detections.
    shuffled = average_precision(np.array([[0], [1], [0], [1]], bool), np.array([0.6, 0.7, 0.8, 0.9]), 3)
    assert shuffled[0] == pytest.approx(ap[0])
    assert average_precision(np.zeros((0, 1), bool), np.zeros(0), 2)[0] == 0.0
    assert math.isnan(average_precision(np.zeros((0, 1), bool), np.zeros(0), 0)[0])


# (id, images, thresholds, expected label-0 values: ap50, ap50_95, precision, recall, false_alarm,
#  images, instances, negatives)
CASES = [
    (
        "perfect",
        [img([BOX], [0], [BOX], [0.9], [0]), img([FAR, BOX], [0, 0], [BOX, FAR], [0.8, 0.7], [0, 0])],
        [0.5],
        (1.0, 1.0, 1.0, 1.0, NAN, 2, 3, 0),
    ),
    (
        # Boxes all in the wrong place: no AP, yet each positive image has a detection (image-level hit).
        "all_wrong_boxes",
        [img([BOX], [0], [FAR], [0.9], [0]), img([], [], [FAR], [0.9], [0])],
        [0.5],
        (0.0, 0.0, 0.5, 1.0, 1.0, 1, 1, 1),
    ),
    (
        "duplicates",  # second copy of a found box is a false positive ranked below the hit: AP stays 1
        [img([BOX], [0], [BOX, BOX], [0.9, 0.8], [0, 0])],
        [0.5],
        (1.0, 1.0, 1.0, 1.0, NAN, 1, 1, 0),
    ),
    (
        # A loose duplicate (IoU 0.62) outranks the tight box: it matches for IoU <= 0.6 and the tight one is a
        # duplicate; from 0.65 the loose one misses and the tight one matches at precision 1/2.
        "loose_duplicate_first",
        [img([BOX], [0], [[0, 0, 10, 6.2], BOX], [0.9, 0.8], [0, 0])],
        [0.5],
        (1.0, (3 + 7 * 0.5) / 10, 1.0, 1.0, NAN, 1, 1, 0),
    ),
    (
        "below_threshold",  # the box counts for AP but not for the image-level decision
        [img([BOX], [0], [BOX], [0.3], [0]), img([], [], [FAR], [0.2], [0])],
        [0.5],
        (1.0, 1.0, NAN, 0.0, 0.0, 1, 1, 1),
    ),
    (
        "false_alarms",  # 4 negatives: one alarm above the threshold, one below it
        [
            img([BOX], [0], [BOX], [0.9], [0]),
            img([], [], [FAR], [0.6], [0]),
            img([], [], [FAR], [0.2], [0]),
            img([], [], [], [], []),
            img([], [], [], [], []),
        ],
        [0.5],
        (1.0, 1.0, 0.5, 1.0, 0.25, 1, 1, 4),
    ),
    (
        # Source does not label class 0 on the second image: its box and its false detections are ignored.
        "ignored_image",
        [img([BOX], [0], [BOX], [0.9], [0]), img([FAR], [0], [BOX, BOX], [0.99, 0.95], [0, 0], (False,))],
        [0.5],
        (1.0, 1.0, 1.0, 1.0, NAN, 1, 1, 0),
    ),
    (
        "no_ground_truth",  # a label absent from the split is n/a, never 0 or 1; false alarms still count
        [img([], [], [FAR], [0.9], [0]), img([], [], [], [], [])],
        [0.5],
        (NAN, NAN, NAN, NAN, 0.5, 0, 0, 2),
    ),
]


@pytest.mark.parametrize(("images", "thresholds", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_evaluate_cases(images: list[ImageEval], thresholds: list[float], expected: tuple[float, ...]) -> None:
    m = evaluate(images, thresholds)
    got = (m.ap50[0], m.ap50_95[0], m.precision[0], m.recall[0], m.false_alarm[0], m.images[0], m.instances[0])
    np.testing.assert_allclose(np.array(got, float), np.array(expected[:7], float), equal_nan=True)
    assert m.negatives[0] == expected[7]


def test_classes_are_scored_separately() -> None:
    # A class-1 detection on a class-0 box is a false positive of class 1, not a hit of class 0.
    m = evaluate([img([BOX], [0], [BOX], [0.9], [1], (True, True))], [0.5, 0.5])
    assert m.ap50[0] == 0.0 and m.recall[0] == 0.0
    assert math.isnan(m.ap50[1]) and m.false_alarm[1] == 1.0


def random_scenes(rng: np.random.Generator, n_images: int, n_cls: int) -> list[ImageEval]:
    """Scenes of separate boxes with jittered, missed, duplicated and spurious detections."""
    scenes = []
    for _ in range(n_images):
        n = int(rng.integers(0, 6))
        xy = rng.uniform(0, 500, (n, 2))
        gt = np.concatenate((xy, xy + rng.uniform(20, 120, (n, 2))), axis=1)
        gt_cls = rng.integers(0, n_cls, n)
        keep = rng.random(n) < 0.8
        det = gt[keep] + rng.normal(0, 4, (int(keep.sum()), 4))
        det_cls = np.where(rng.random(int(keep.sum())) < 0.9, gt_cls[keep], rng.integers(0, n_cls, int(keep.sum())))
        n_fp = int(rng.integers(0, 4))
        fp_xy = rng.uniform(0, 500, (n_fp, 2))
        det = np.concatenate((det, np.concatenate((fp_xy, fp_xy + 50), axis=1), det[:1] + 3))
        det_cls = np.concatenate((det_cls, rng.integers(0, n_cls, n_fp), det_cls[:1]))
        # Real boxes mostly outscore spurious ones, as in a useful detector, so AP is neither near 0 nor 1.
        score = np.concatenate(
            (rng.uniform(0.2, 1.0, int(keep.sum())), rng.uniform(0.0, 0.6, len(det) - int(keep.sum())))
        )
        scenes.append(ImageEval(gt, gt_cls, det, score, det_cls, np.ones(n_cls, bool)))
    return scenes


@pytest.mark.train
def test_ap_agrees_with_ultralytics() -> None:
    pytest.importorskip("ultralytics")
    torch = pytest.importorskip("torch")
    from ultralytics.engine.validator import BaseValidator
    from ultralytics.utils.metrics import ap_per_class

    n_cls = 3
    scenes = random_scenes(np.random.default_rng(0), 300, n_cls)
    ours = evaluate(scenes, np.full(n_cls, 0.5))

    # Ultralytics' own matching and AP on the same boxes, image by image as its DetectionValidator does.
    matcher = SimpleNamespace(iouv=torch.tensor(IOU_THRESHOLDS, dtype=torch.float32))
    tps, confs, pred_cls, target_cls = [], [], [], []
    for s in scenes:
        order = np.argsort(-np.asarray(s.det_score), kind="stable")
        det, score, cls = np.asarray(s.det_xyxy)[order], np.asarray(s.det_score)[order], np.asarray(s.det_class)[order]
        iou = torch.from_numpy(box_iou(s.gt_xyxy, det)).float()
        tp = BaseValidator.match_predictions(
            matcher, torch.from_numpy(cls), torch.from_numpy(np.asarray(s.gt_class)), iou
        )
        gt, gt_cls = np.asarray(s.gt_xyxy), np.asarray(s.gt_class)
        for c in range(n_cls):  # same greedy matching, box for box
            np.testing.assert_array_equal(match_detections(box_iou(det[cls == c], gt[gt_cls == c])), tp[cls == c])
        tps.append(tp.numpy())
        confs.append(score)
        pred_cls.append(cls)
        target_cls.append(np.asarray(s.gt_class))
    result = ap_per_class(
        np.concatenate(tps), np.concatenate(confs), np.concatenate(pred_cls), np.concatenate(target_cls)
    )
    ap, classes = result[5], result[6]
    np.testing.assert_array_equal(classes, np.arange(n_cls))
    print(f"AP50 ours {ours.ap50} ultralytics {ap[:, 0]}; AP50-95 ours {ours.ap50_95} ultralytics {ap.mean(1)}")
    np.testing.assert_allclose(ours.ap, ap, atol=0.01)
    assert 0.3 < ours.ap50_95.mean() < 0.95  # a curve with real misses and false positives, not a trivial 0 or 1


# ---- bootstrap: resampled AP50 equals AP50 of the resampled split ----------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weighted_ap50_equals_ap50_of_the_split_with_images_repeated(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scenes = random_scenes(rng, 60, 3)
    weights = rng.integers(0, 4, (4, len(scenes))).astype(float)
    weights[0] = 1.0  # the split itself
    draws = ap50_draws(scenes, 3, weights)
    for r, w in enumerate(weights.astype(int)):
        repeated = [s for s, k in zip(scenes, w.tolist(), strict=True) for _ in range(k)]
        np.testing.assert_allclose(draws[r], evaluate(repeated, np.full(3, 0.5)).ap50, atol=1e-12)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([1.0, 1.0], 0.5),  # the false alarm outscores the hit: precision 1/2 at full recall
        ([1.0, 3.0], 0.25),  # the false-alarm photo drawn three times
        ([2.0, 0.0], 1.0),  # only the hit's photo, twice
        ([0.0, 3.0], NAN),  # no ground truth drawn: undefined, not 0
    ],
)
def test_resampled_ap50_by_hand(weights: list[float], expected: float) -> None:
    scenes = [img([BOX], [0], [BOX], [0.9], [0]), img([], [], [FAR], [0.95], [0])]
    np.testing.assert_allclose(ap50_draws(scenes, 1, np.array([weights]))[0], [expected], equal_nan=True)


def test_weights_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="weights must be"):
        ap50_draws([img([BOX], [0], [BOX], [0.9], [0])], 1, np.ones(1))


def test_cluster_weights_draw_whole_clusters_within_each_stratum() -> None:
    clusters = ["a", "a", "b", "c", "c", "c", "a", "x", "y"]
    strata = ["s1"] * 7 + ["s2"] * 2
    w = cluster_weights(clusters, strata, 500, np.random.default_rng(0))
    assert w.shape == (500, 9)
    # every photo of a cluster counts as often as the others; "a" of s1 is one cluster however far apart
    for members in ([0, 1, 6], [3, 4, 5]):
        assert (w[:, members] == w[:, members[:1]]).all()
    # each resample draws as many clusters as the stratum has: 3 in s1, 2 in s2
    assert (w[:, [0, 2, 3]].sum(axis=1) == 3).all() and (w[:, [7, 8]].sum(axis=1) == 2).all()
    assert np.allclose(w[:, [0, 2, 3, 7, 8]].mean(axis=0), 1.0, atol=0.15)  # each cluster drawn once on average
    np.testing.assert_array_equal(w, cluster_weights(clusters, strata, 500, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="differ in length"):
        cluster_weights(clusters, strata[:-1], 5, np.random.default_rng(0))
