"""What the rules hand over: violation and clear events (consumed by the case store), and the per-frame
candidate boxes the rules pass between their steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from domain.taxonomy import Violation
from vision.detections import Detections, FloatArray

IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class ViolationEvent:
    """A violation the rules are sure enough of to report (a case is opened or updated from it): what, when and
    where in the frame. Where in the world is the service's to say (``service.cases.placement``)."""

    violation: Violation
    label: str  # detector label that fired (e.g. "car", "garbage", "bin_overflow")
    rule: str  # rule id, e.g. "parking.fire_lane", "garbage.exposed", "garbage.bin_overflow"
    thresholds: Mapping[str, float]  # the thresholds that fired (min_conf, dwell_s, k, n, window_s, ...)
    bbox: tuple[float, float, float, float]  # normalised xyxy in [0, 1] of the frame/photo
    confidence: float  # max score over the observations
    first_seen: datetime  # timezone-aware
    last_seen: datetime
    observations: int  # sightings that supported it
    zone_id: str | None = None  # the zone of the frame it was in (parking rules), if any


@dataclass(frozen=True)
class ClearEvent:
    """The place of an earlier violation seen clear for the rule's clear window (auto-verification), in the frame
    of the stream whose rule step returned it."""

    violation: Violation
    bbox: tuple[float, float, float, float]  # normalised xyxy of the slot that went clear
    clear_since: datetime
    at: datetime


@dataclass(frozen=True)
class Finding:
    """One way a rule fires: the violation, the detector label and the rule id, with the thresholds used."""

    violation: Violation
    label: str
    rule: str
    thresholds: Mapping[str, float]


class FindingTable:
    """All findings of a rule set, indexed so per-box codes are small integers (kind) in numpy arrays."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        self._index = {(f.rule, f.label): i for i, f in enumerate(self.findings)}
        if len(self._index) != len(self.findings):
            raise ValueError("two findings share a rule id and label")
        self._luts: dict[tuple[str, tuple[str, ...]], IndexArray] = {}  # per (rule, model class names)

    def __getitem__(self, kind: int) -> Finding:
        return self.findings[kind]

    def kinds(self, rule: str, det: Detections, rows: IndexArray) -> IndexArray:
        """(R,) finding index of ``rule`` for the label of each of ``det``'s boxes ``rows``; -1 if none."""
        lut = self._luts.get((rule, det.names))
        if lut is None:
            lut = np.array([self._index.get((rule, name), -1) for name in det.names] or [-1], dtype=np.intp)
            self._luts[(rule, det.names)] = lut
        return np.asarray(lut[det.class_id[rows]], dtype=np.intp)


@dataclass(frozen=True)
class Candidates:
    """Boxes of one frame that may be one violation type, (M,) parallel arrays.

    Attributes:
        xyxy: (M, 4) normalised boxes (for an overflowing bin: the bin's box).
        score: (M,) detector scores.
        kind: (M,) index into the :class:`FindingTable`.
        zone: (M,) index into the camera's or photo's zones, -1 for none.
    """

    xyxy: FloatArray
    score: FloatArray
    kind: IndexArray
    zone: IndexArray

    def __len__(self) -> int:
        return len(self.kind)

    @classmethod
    def concat(cls, parts: Sequence[Candidates]) -> Candidates:
        if not parts:
            return cls(
                np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp), np.zeros(0, np.intp)
            )
        return cls(
            np.concatenate([p.xyxy for p in parts]).astype(np.float32),
            np.concatenate([p.score for p in parts]).astype(np.float32),
            np.concatenate([p.kind for p in parts]).astype(np.intp),
            np.concatenate([p.zone for p in parts]).astype(np.intp),
        )

    def __getitem__(self, index: npt.NDArray[np.bool_] | IndexArray) -> Candidates:
        return Candidates(self.xyxy[index], self.score[index], self.kind[index], self.zone[index])
