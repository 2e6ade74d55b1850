"""Cheap motion gating: skip a camera's frames that show nothing new, so the detector only sees frames worth it.

Each sampled frame is shrunk to a small grey thumbnail and compared with a running-average background of the
camera's earlier thumbnails. The frame passes when enough thumbnail pixels differ from the background, or when the
camera has not passed a frame for ``refresh_s`` seconds: things that never move (a pile of debris, a parked car) stop
being motion once the background has absorbed them, and the forced refresh keeps re-observing them so the
persistence and dwell rules still see them.

Pure: no threads, no clock of its own (the frame time is a parameter).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


class GateReason(StrEnum):
    """Why a frame passed the gate, or ``STATIC`` when it did not."""

    FIRST = "first"  # the first frame of the camera (or of a new frame size)
    MOTION = "motion"
    REFRESH = "refresh"  # nothing moved, but the camera is due for a forced look
    STATIC = "static"


@dataclass(frozen=True)
class MotionSettings:
    """Thresholds of the motion gate.

    Attributes:
        size: (width, height) of the grey thumbnail, pixels; 160x90 keeps a person at 20 m on a 1080p camera
            (about 3x8 thumbnail pixels) while costing well under a millisecond.
        pixel_delta: grey levels (of 255) a thumbnail pixel must differ from the background by to count as changed.
        min_changed: a frame is motion when more than this fraction of its thumbnail pixels changed; 1 % is a car
            entering a 1080p view, and above the rain, snow and compression flicker of real cameras (up to 0.7 %
            on the shared car-park clip).
        alpha: background learning rate per sampled frame (0 < alpha <= 1); at 0.05 a new static thing is absorbed
            after about 60 samples. The first ``1 / alpha`` samples are averaged evenly (rate ``1 / n``), so a
            first frame that is not typical (auto-exposure settling, a frame mid-fade) is soon outvoted.
        refresh_s: seconds after which a frame passes even without motion.
    """

    size: tuple[int, int] = (160, 90)
    pixel_delta: float = 12.0
    min_changed: float = 0.01
    alpha: float = 0.05
    refresh_s: float = 30.0

    def __post_init__(self) -> None:
        if min(self.size) < 4:
            raise ValueError(f"thumbnail size must be at least 4x4, got {self.size}")
        if not 0.0 < self.alpha <= 1.0 or not 0.0 <= self.min_changed <= 1.0:
            raise ValueError(f"alpha must be in (0, 1] and min_changed in [0, 1], got {self.alpha}, {self.min_changed}")
        if self.pixel_delta < 0 or self.refresh_s <= 0:
            raise ValueError(f"pixel_delta must be >= 0 and refresh_s > 0, got {self.pixel_delta}, {self.refresh_s}")


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict on one frame: ``passed``, why, and the fraction of thumbnail pixels that changed."""

    passed: bool
    reason: GateReason
    changed: float


def thumbnail(frame: Image, size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """(h, w) float32 grey levels 0..255 of a (H, W, 3) BGR or (H, W) grey frame shrunk to ``size`` = (w, h).

    Area interpolation averages every source pixel (no aliasing, and compression noise averages out); the colour
    conversion runs on the thumbnail, not the full frame.
    """
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return np.asarray(small, dtype=np.float32)


class MotionGate:
    """Motion gate of one camera. Call :meth:`check` with each sampled frame in time order."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self._background: npt.NDArray[np.float32] | None = None
        self._frame_shape: tuple[int, ...] = ()
        self._last_pass: float = -np.inf
        self._samples = 0  # frames learnt into the background

    def reset(self) -> None:
        """Forget the background (e.g. after the camera reconnected or moved): the next frame passes."""
        self._background = None
        self._frame_shape = ()
        self._samples = 0

    def changed_fraction(self, thumb: npt.NDArray[np.float32]) -> float:
        """Fraction of ``thumb``'s pixels that differ from the background by more than ``pixel_delta`` grey levels,
        after removing the median difference (a cloud or the camera's auto-exposure shifts the whole picture)."""
        assert self._background is not None
        diff = thumb - self._background
        diff -= np.median(diff)
        return float(np.count_nonzero(np.abs(diff) > self.settings.pixel_delta)) / diff.size

    def check(self, frame: Image, t: float) -> GateDecision:
        """Judge a (H, W, 3) BGR frame taken at ``t`` seconds and learn it into the background."""
        s = self.settings
        thumb = thumbnail(frame, s.size)
        if self._background is None or frame.shape != self._frame_shape:
            self._background, self._frame_shape, self._last_pass, self._samples = thumb, frame.shape, t, 1
            return GateDecision(True, GateReason.FIRST, 1.0)
        changed = self.changed_fraction(thumb)
        self._samples += 1
        cv2.accumulateWeighted(thumb, self._background, max(s.alpha, 1.0 / self._samples))
        if changed > s.min_changed:
            reason = GateReason.MOTION
        elif t - self._last_pass >= s.refresh_s:
            reason = GateReason.REFRESH
        else:
            return GateDecision(False, GateReason.STATIC, changed)
        self._last_pass = t
        return GateDecision(True, reason, changed)
