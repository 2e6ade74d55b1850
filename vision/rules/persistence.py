"""Remembering things at a place across frames without tracker IDs.

A camera's memory is a table of *slots*: one row per thing (a pile, a poster, a parked car) with its box and
history, kept as parallel numpy arrays. Each frame's candidate boxes are matched to slots by IoU (one (M, S)
matrix), so the cost does not grow with Python objects per box. :class:`PersistenceTracker` implements "same thing,
same place, k of n sampled observations over T seconds" for things that never move; the parking rule builds
its dwell tracker on the same :class:`SlotTable`.

Times are seconds (float, e.g. POSIX timestamps); boxes are normalised xyxy in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vision.boxes import box_cover, box_iou
from vision.detections import BoolArray, FloatArray
from vision.rules.config import Persistence
from vision.rules.events import Candidates

IndexArray = npt.NDArray[np.intp]
TimeArray = npt.NDArray[np.float64]

# sample states in a persistence ring
HIT, MISS, UNKNOWN = 1, -1, 0


def grow(xyxy: FloatArray, margin: float) -> FloatArray:
    """(N, 4) boxes grown by ``margin`` times their width and height on every side."""
    wh = xyxy[:, 2:] - xyxy[:, :2]
    return np.asarray(np.concatenate([xyxy[:, :2] - margin * wh, xyxy[:, 2:] + margin * wh], axis=1), np.float32)


def associate(boxes: FloatArray, refs: FloatArray, iou: float) -> IndexArray:
    """(M,) index of the ref box each of (M, 4) ``boxes`` overlaps most, if that IoU is at least ``iou``; -1
    otherwise. Several boxes may go to one ref (a pile boxed twice is still one pile)."""
    if len(boxes) == 0 or len(refs) == 0:
        return np.full(len(boxes), -1, dtype=np.intp)
    overlap = box_iou(boxes, refs)
    best = overlap.argmax(axis=1)
    return np.where(overlap[np.arange(len(boxes)), best] >= iou, best, -1)


def suppress(boxes: FloatArray, score: FloatArray, iou: float) -> BoolArray:
    """(M,) keep-mask dropping every box that overlaps a higher-scoring one with IoU >= ``iou`` (one pass,
    no cascade: enough to stop two boxes on one new thing opening two slots)."""
    order = np.argsort(-score, kind="stable")
    overlap = box_iou(boxes[order], boxes[order])
    beaten = np.triu(overlap >= iou, k=1).any(axis=0)  # column j overlaps an earlier (higher) row i < j
    keep = np.ones(len(boxes), dtype=bool)
    keep[order[beaten]] = False
    return keep


def best_per_group(group: IndexArray, score: FloatArray) -> tuple[IndexArray, IndexArray]:
    """For (M,) non-negative group ids and scores: (groups, rows), each group once with its best-scoring row."""
    order = np.lexsort((score, group))  # by group, then score ascending
    g = group[order]
    last = np.append(g[1:] != g[:-1], True) if len(g) else np.zeros(0, dtype=bool)
    return g[last], order[last]


@dataclass(frozen=True)
class SlotRows:
    """A copy of some slots, (R,) parallel arrays: what a tracker reports.

    Attributes:
        xyxy: (R, 4) latest box, normalised.
        kind: (R,) caller's code for what the slot is (an index into the rule's findings).
        zone: (R,) index into the camera's zones, -1 for none.
        first_seen, last_seen: (R,) seconds of the first and the latest sighting.
        score: (R,) best score over the sightings.
        observations: (R,) frames in which the thing was seen.
        since: (R,) seconds since when a cleared slot's place has been clear; NaN for fired slots.
    """

    xyxy: FloatArray
    kind: IndexArray
    zone: IndexArray
    first_seen: TimeArray
    last_seen: TimeArray
    score: FloatArray
    observations: npt.NDArray[np.int64]
    since: TimeArray

    def __len__(self) -> int:
        return len(self.kind)


NO_ROWS = SlotRows(
    xyxy=np.zeros((0, 4), np.float32),
    kind=np.zeros(0, np.intp),
    zone=np.zeros(0, np.intp),
    first_seen=np.zeros(0),
    last_seen=np.zeros(0),
    score=np.zeros(0, np.float32),
    observations=np.zeros(0, np.int64),
    since=np.zeros(0),
)


class SlotTable:
    """Per-camera slots as parallel column arrays (S rows); subclasses add columns with :meth:`_column`."""

    ref: FloatArray  # (S, 4) the box new candidates are matched against
    xyxy: FloatArray  # (S, 4) latest box
    kind: IndexArray
    zone: IndexArray
    first_seen: TimeArray
    last_seen: TimeArray
    score: FloatArray
    observations: npt.NDArray[np.int64]
    confirmed: BoolArray
    last_emit: TimeArray  # NaN until reported

    def __init__(self, *, max_slots: int, update_s: float) -> None:
        self.max_slots = max_slots
        self.update_s = update_s
        self._fill: dict[str, tuple[tuple[int, ...], type[np.generic], Any]] = {}
        self._t_last = -math.inf
        self._column("ref", (4,), np.float32, 0.0)
        self._column("xyxy", (4,), np.float32, 0.0)
        self._column("kind", (), np.intp, -1)
        self._column("zone", (), np.intp, -1)
        self._column("first_seen", (), np.float64, math.nan)
        self._column("last_seen", (), np.float64, math.nan)
        self._column("score", (), np.float32, 0.0)
        self._column("observations", (), np.int64, 0)
        self._column("confirmed", (), np.bool_, False)
        self._column("last_emit", (), np.float64, math.nan)

    def _column(self, name: str, tail: tuple[int, ...], dtype: type[np.generic], fill: Any) -> None:
        self._fill[name] = (tail, dtype, fill)
        setattr(self, name, np.full((0, *tail), fill, dtype=dtype))

    def __len__(self) -> int:
        return len(self.kind)

    def _tick(self, t: float) -> None:
        if t < self._t_last:
            raise ValueError(f"time went backwards ({t} < {self._t_last}); reset the camera's rules first")
        self._t_last = t

    def _add(self, xyxy: FloatArray, score: FloatArray, kind: IndexArray, zone: IndexArray, t: float) -> None:
        """Append (M,) new slots first seen at ``t``; other columns take their fill value."""
        m = len(xyxy)
        if m == 0:
            return
        for name, (tail, dtype, fill) in self._fill.items():
            setattr(self, name, np.concatenate([getattr(self, name), np.full((m, *tail), fill, dtype=dtype)]))
        new = slice(len(self) - m, None)
        self.ref[new] = xyxy
        self.xyxy[new] = xyxy
        self.kind[new] = kind
        self.zone[new] = zone
        self.first_seen[new] = t
        self.last_seen[new] = t
        self.score[new] = score
        self.observations[new] = 1

    def _keep(self, mask: BoolArray) -> None:
        if mask.all():
            return
        for name in self._fill:
            setattr(self, name, getattr(self, name)[mask])

    def _evict(self) -> None:
        """Forget the stalest slots beyond ``max_slots``, unconfirmed ones first."""
        excess = len(self) - self.max_slots
        if excess > 0:
            keep = np.ones(len(self), dtype=bool)
            keep[np.lexsort((self.last_seen, self.confirmed))[:excess]] = False
            self._keep(keep)

    def _hit(
        self,
        slot: IndexArray,
        xyxy: FloatArray,
        score: FloatArray,
        kind: IndexArray,
        zone: IndexArray,
        t: float,
        ref_alpha: float,
    ) -> BoolArray:
        """Record this frame's sightings: candidate i saw slot ``slot[i]`` (-1: none). Returns (S,) hit mask.

        The best-scoring candidate of a slot sets its latest box, kind and zone; the match box moves towards
        it by ``ref_alpha`` (0 keeps the first position, for 'stays put')."""
        hit = np.zeros(len(self), dtype=bool)
        seen = np.flatnonzero(slot >= 0)
        if len(seen) == 0:
            return hit
        slots, rows = best_per_group(slot[seen], score[seen])
        rows = seen[rows]
        self.xyxy[slots] = xyxy[rows]
        self.ref[slots] += ref_alpha * (xyxy[rows] - self.ref[slots])
        self.kind[slots] = kind[rows]
        self.zone[slots] = zone[rows]
        self.score[slots] = np.maximum(self.score[slots], score[rows])
        self.last_seen[slots] = t
        self.observations[slots] += 1
        hit[slots] = True
        return hit

    def _open(
        self,
        slot: IndexArray,
        xyxy: FloatArray,
        score: FloatArray,
        kind: IndexArray,
        zone: IndexArray,
        t: float,
        iou: float,
    ) -> int:
        """Open slots for the candidates with ``slot == -1`` (unmatched and scoring at least the opening
        threshold), one per group overlapping with IoU >= ``iou``. Returns how many were opened."""
        new = np.flatnonzero(slot == -1)
        if len(new) == 0:
            return 0
        new = new[suppress(xyxy[new], score[new], iou)]
        self._add(xyxy[new], score[new], kind[new], zone[new], t)
        return len(new)

    def _due(self, t: float, hit: BoolArray) -> IndexArray:
        """Confirmed slots seen now and never reported, or last reported ``update_s`` ago; stamps them."""
        due = np.flatnonzero(self.confirmed & hit & ~(t - self.last_emit < self.update_s))  # NaN -> due
        self.last_emit[due] = t
        return due

    def _rows(self, idx: IndexArray, since: TimeArray | None = None) -> SlotRows:
        if len(idx) == 0:
            return NO_ROWS
        return SlotRows(
            xyxy=self.xyxy[idx].copy(),
            kind=self.kind[idx].copy(),
            zone=self.zone[idx].copy(),
            first_seen=self.first_seen[idx].copy(),
            last_seen=self.last_seen[idx].copy(),
            score=self.score[idx].copy(),
            observations=self.observations[idx].copy(),
            since=np.full(len(idx), math.nan) if since is None else since.astype(np.float64),
        )


@dataclass(frozen=True)
class TrackerUpdate:
    """What one frame changed: slots to report as violations and slots whose place is now clear."""

    fired: SlotRows
    cleared: SlotRows


class PersistenceTracker(SlotTable):
    """k of n sampled observations over ``window_s`` for things that never move.

    Time is cut into samples of ``window_s / n`` seconds shared by all slots. In a sample a slot is a hit when
    a candidate matched it (IoU >= ``iou`` with its box) in any frame; unknown when it was never matched and,
    in every frame, an occluder box covered at least ``cover`` of it (a passer-by, a parked car) or no frame
    came at all; a miss otherwise. Scores, not pixels, decide a hit, so lighting changes only matter through
    the detector, and ``keep_conf`` < ``open_conf`` keeps a thing seen at dusk.

    Policy: a slot is confirmed once it has k hits among its latest n samples (the current one included) and
    is reported then and again while seen, at most every ``update_s``. A confirmed slot whose place has had
    only misses for ``clear_s`` is reported cleared and forgotten; an unconfirmed slot not seen for
    ``window_s`` can no longer reach k and is forgotten.
    """

    ring: npt.NDArray[np.int8]  # (S, n) samples, oldest at column self._pos
    bucket_hit: BoolArray  # (S,) seen in the current sample
    bucket_look: BoolArray  # (S,) seen unhidden without a hit in the current sample
    clear_since: TimeArray  # (S,) start of the current run of miss samples, NaN if none

    def __init__(self, p: Persistence, *, open_conf: float, cover: float, max_slots: int) -> None:
        super().__init__(max_slots=max_slots, update_s=p.update_s)
        self.p = p
        self.open_conf = open_conf
        self.cover = cover
        self.interval = p.window_s / p.n
        self._pos = 0
        self._bucket_start: float | None = None
        self._column("ring", (p.n,), np.int8, UNKNOWN)
        self._column("bucket_hit", (), np.bool_, False)
        self._column("bucket_look", (), np.bool_, False)
        self._column("clear_since", (), np.float64, math.nan)

    def _push(self, sample: npt.NDArray[np.int8] | int) -> None:
        self.ring[:, self._pos] = sample
        self._pos = (self._pos + 1) % self.p.n

    def _close_samples(self, t: float) -> BoolArray:
        """Close the samples that ended before ``t``; returns the (S,) mask of confirmed slots now clear."""
        cleared = np.zeros(len(self), dtype=bool)
        if self._bucket_start is None:
            self._bucket_start = t
            return cleared
        elapsed = math.floor((t - self._bucket_start) / self.interval)
        if elapsed < 1:
            return cleared
        start = self._bucket_start
        sample = np.where(self.bucket_hit, HIT, np.where(self.bucket_look, MISS, UNKNOWN)).astype(np.int8)
        self._push(sample)
        self.clear_since = np.where(sample == MISS, np.fmin(self.clear_since, start), math.nan)
        end = start + self.interval
        cleared = self.confirmed & (end - self.clear_since >= self.p.clear_s)  # NaN compares False
        for _ in range(min(elapsed - 1, self.p.n)):  # samples without a single frame
            self._push(UNKNOWN)
        if elapsed > 1:
            self.clear_since[:] = math.nan
        self._bucket_start = start + elapsed * self.interval
        self.bucket_hit[:] = False
        self.bucket_look[:] = False
        return cleared

    def update(self, t: float, cand: Candidates, occluders: FloatArray) -> TrackerUpdate:
        """One frame at ``t`` seconds.

        Args:
            cand: this rule's candidates, already at or above the keep threshold; only those at or above
                ``open_conf`` may open a slot.
            occluders: (P, 4) normalised boxes that may hide a slot (people, vehicles).
        """
        self._tick(t)
        cleared_mask = self._close_samples(t)
        if len(self) == 0 and len(cand) == 0:  # nothing remembered, nothing seen: only the sample clock moved
            return TrackerUpdate(fired=NO_ROWS, cleared=NO_ROWS)
        cleared = self._rows(np.flatnonzero(cleared_mask), self.clear_since[cleared_mask])
        self._keep(~cleared_mask)

        slot = associate(cand.xyxy, self.ref, self.p.iou)
        slot[(slot < 0) & (cand.score < self.open_conf)] = -2  # too weak to open a slot, fine to keep one
        hit = self._hit(slot, cand.xyxy, cand.score, cand.kind, cand.zone, t, ref_alpha=0.2)
        opened = self._open(slot, cand.xyxy, cand.score, cand.kind, cand.zone, t, self.p.iou)
        hit = np.concatenate([hit, np.ones(opened, dtype=bool)])

        hidden = np.zeros(len(self), dtype=bool)
        if len(occluders) and len(self):
            hidden = box_cover(self.ref, occluders).max(axis=1) >= self.cover
        self.bucket_hit |= hit
        self.bucket_look |= ~hit & ~hidden
        # k of the latest n samples: the n - 1 newest closed ones and the current one
        hits = np.count_nonzero(self.ring == HIT, axis=1) - (self.ring[:, self._pos] == HIT) + self.bucket_hit
        self.confirmed |= hits >= self.p.k
        fired = self._rows(self._due(t, hit))

        self._keep(self.confirmed | (t - self.last_seen <= self.p.window_s))
        self._evict()
        return TrackerUpdate(fired=fired, cleared=cleared)
