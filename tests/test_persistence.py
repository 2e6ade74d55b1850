"""Slot geometry and the k-of-n persistence tracker, on hand-made boxes and a second-by-second clock."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from vision.boxes import box_cover, box_iou
from vision.rules.config import Persistence
from vision.rules.events import Candidates
from vision.rules.persistence import (
    PersistenceTracker,
    TrackerUpdate,
    associate,
    best_per_group,
    grow,
    suppress,
)

Box = tuple[float, float, float, float]
A: Box = (0.1, 0.1, 0.2, 0.2)
B: Box = (0.5, 0.5, 0.7, 0.7)
C: Box = (0.8, 0.1, 0.9, 0.3)
PERSON: Box = (0.05, 0.0, 0.25, 0.4)


def arr(*boxes: Box) -> np.ndarray[tuple[int, int], np.dtype[np.float32]]:
    return np.array(boxes, np.float32).reshape(-1, 4)


def cands(*items: tuple[Box, float]) -> Candidates:
    n = len(items)
    return Candidates(
        arr(*(b for b, _ in items)), np.array([s for _, s in items], np.float32), np.zeros(n, np.intp), np.full(n, -1)
    )


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        (A, A, 1.0),
        (A, B, 0.0),
        ((0, 0, 0.2, 0.1), (0.1, 0, 0.3, 0.1), 1 / 3),
        ((0, 0, 0.4, 0.4), (0.1, 0.1, 0.3, 0.3), 0.25),
        ((0.1, 0.1, 0.1, 0.1), (0.1, 0.1, 0.1, 0.1), 0.0),  # empty boxes: no 0/0
    ],
)
def test_box_iou(a: Box, b: Box, iou: float) -> None:
    assert box_iou(arr(a), arr(b))[0, 0] == pytest.approx(iou)
    assert box_iou(arr(b), arr(a))[0, 0] == pytest.approx(iou)


def test_box_cover_is_asymmetric() -> None:
    big, small = (0, 0, 0.4, 0.4), (0.1, 0.1, 0.3, 0.3)
    assert box_cover(arr(small), arr(big))[0, 0] == pytest.approx(1.0)
    assert box_cover(arr(big), arr(small))[0, 0] == pytest.approx(0.25)
    assert box_cover(arr(A, B), arr(PERSON)).shape == (2, 1)


def test_grow() -> None:
    assert grow(arr((0.4, 0.4, 0.6, 0.8)), 0.5)[0].tolist() == pytest.approx([0.3, 0.2, 0.7, 1.0])


def test_associate_sends_each_box_to_its_best_ref() -> None:
    refs = arr(A, B)
    boxes = arr((0.5, 0.5, 0.69, 0.7), (0.1, 0.1, 0.2, 0.21), (0.52, 0.5, 0.7, 0.7), C)
    assert associate(boxes, refs, 0.5).tolist() == [1, 0, 1, -1]
    assert associate(boxes, arr(), 0.5).tolist() == [-1, -1, -1, -1]
    assert associate(arr(), refs, 0.5).shape == (0,)


def test_suppress_keeps_the_best_of_each_overlapping_group() -> None:
    boxes = arr(A, (0.1, 0.1, 0.2, 0.21), B, (0.1, 0.1, 0.21, 0.2))
    score = np.array([0.5, 0.9, 0.6, 0.4], np.float32)
    assert suppress(boxes, score, 0.5).tolist() == [False, True, True, False]
    assert suppress(arr(), np.zeros(0, np.float32), 0.5).shape == (0,)


def test_best_per_group() -> None:
    groups, rows = best_per_group(np.array([2, 0, 2, 0, 5]), np.array([0.1, 0.3, 0.9, 0.2, 0.5], np.float32))
    assert groups.tolist() == [0, 2, 5] and rows.tolist() == [1, 2, 4]


def tracker(
    k: int = 3, n: int = 4, window_s: float = 40.0, clear_s: float = 30.0, max_slots: int = 16
) -> PersistenceTracker:
    p = Persistence(k=k, n=n, window_s=window_s, iou=0.5, clear_s=clear_s, update_s=1000.0)
    return PersistenceTracker(p, open_conf=0.4, cover=0.25, max_slots=max_slots)


def run(
    tr: PersistenceTracker, frames: Callable[[int], tuple[Candidates, list[Box]]], seconds: int
) -> list[tuple[int, TrackerUpdate]]:
    out = []
    for s in range(seconds):
        cand, occluders = frames(s)
        update = tr.update(float(s), cand, arr(*occluders))
        if len(update.fired) or len(update.cleared):
            out.append((s, update))
    return out


@pytest.mark.parametrize(
    ("seen_in", "fires_at"),
    [
        ({0, 1, 2, 3, 4, 5}, 20),  # third 10-s sample
        ({0, 1, 3}, 30),  # 3 of the 4 samples 0-3
        ({0, 1, 4}, None),  # at sample 4 the window is samples 1-4: only 2 hits
        ({0, 2, 4, 6, 8}, None),  # every other sample: never 3 of 4
        ({5, 6, 7}, 70),
    ],
)
def test_k_of_n_samples(seen_in: set[int], fires_at: int | None) -> None:
    log = run(tracker(), lambda s: (cands((A, 0.8)) if s // 10 in seen_in else cands(), []), 100)
    fired = [s for s, u in log if len(u.fired)]
    assert fired == ([] if fires_at is None else [fires_at])


def test_one_frame_per_sample_is_enough() -> None:
    log = run(tracker(), lambda s: (cands((A, 0.8)) if s % 10 == 9 else cands(), []), 40)
    assert [s for s, u in log if len(u.fired)] == [29]


def test_weak_candidates_keep_but_do_not_open() -> None:
    assert run(tracker(), lambda s: (cands((A, 0.3)), []), 60) == []  # 0.3 < open_conf 0.4
    log = run(tracker(), lambda s: (cands((A, 0.8 if s == 0 else 0.3)), []), 60)
    (s, update), *_ = log
    assert s == 20 and update.fired.score.tolist() == pytest.approx([0.8])


def test_reported_rows_carry_the_slot_history() -> None:
    log = run(tracker(), lambda s: (cands((A, 0.5 + s / 100), (B, 0.9)) if s >= 3 else cands(), []), 24)
    (s, update), *_ = log
    assert s == 20 and len(update.fired) == 2  # samples 0-9 (from 3 s), 10-19, 20-29
    order = np.argsort(update.fired.xyxy[:, 0])
    np.testing.assert_allclose(update.fired.xyxy[order], arr(A, B), atol=1e-6)
    assert update.fired.first_seen.tolist() == [3.0, 3.0] and update.fired.last_seen.tolist() == [20.0, 20.0]
    assert update.fired.observations.tolist() == [18, 18]
    assert update.fired.score[order].tolist() == pytest.approx([0.70, 0.9])


def test_unconfirmed_slots_are_forgotten_after_the_window() -> None:
    tr = tracker()
    run(tr, lambda s: (cands((A, 0.8)) if s == 0 else cands(), []), 40)
    assert len(tr) == 1  # seen at 0 s, window 40 s
    tr.update(41.0, cands(), arr())
    assert len(tr) == 0


def test_clear_needs_misses_and_occlusion_is_not_a_miss() -> None:
    def frames(s: int) -> tuple[Candidates, list[Box]]:
        if s < 40:
            return cands((A, 0.8)), []
        if s < 100:
            return cands(), [PERSON]  # hidden: unknown
        return cands(), []  # visible and not there: misses from 100 s

    log = run(tracker(clear_s=30), frames, 200)
    cleared = [(s, u.cleared.since.tolist()) for s, u in log if len(u.cleared)]
    assert cleared == [(130, [100.0])]  # samples 100-109, 110-119, 120-129 are misses


def test_a_gap_without_frames_is_unknown() -> None:
    tr = tracker(clear_s=30)
    run(tr, lambda s: (cands((A, 0.8)), []), 40)
    assert len(tr.update(500.0, cands(), arr()).cleared) == 0  # 460 s without frames is no evidence
    assert [len(tr.update(float(s), cands(), arr()).cleared) for s in range(501, 560)].index(1) == 530 - 501


def test_max_slots_evicts_unconfirmed_stale_slots_first() -> None:
    tr = tracker(max_slots=2)
    run(tr, lambda s: (cands((A, 0.8)), []), 25)  # A confirmed at 20 s
    tr.update(25.0, cands((B, 0.8)), arr())
    tr.update(26.0, cands((C, 0.8)), arr())
    assert len(tr) == 2 and tr.confirmed.tolist().count(True) == 1
    assert sorted(tr.xyxy[:, 0].tolist()) == pytest.approx([A[0], C[0]])


def test_time_must_not_go_backwards() -> None:
    tr = tracker()
    tr.update(10.0, cands((A, 0.8)), arr())
    with pytest.raises(ValueError, match="backwards"):
        tr.update(9.0, cands(), arr())
