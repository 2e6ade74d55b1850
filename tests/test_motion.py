"""Motion gate on small synthetic frames: static scenes are gated, changes pass, refresh forces a look, lighting
drift is not motion."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from vision.motion import GateReason, MotionGate, MotionSettings, thumbnail

H, W = 72, 128
Image = npt.NDArray[np.uint8]


def scene(seed: int = 0) -> Image:
    """A textured (72, 128, 3) BGR frame: smooth gradients plus mild noise, like a street at dusk."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W]
    base = 60 + 0.6 * x + 0.4 * y
    frame = np.stack([base, base * 0.9, base * 0.8], axis=-1) + rng.normal(0, 2, (H, W, 3))
    return np.clip(frame, 0, 255).astype(np.uint8)


def noisy(frame: Image, seed: int) -> Image:
    """The same scene with fresh sensor noise (a static camera never sends identical frames)."""
    rng = np.random.default_rng(seed)
    return np.asarray(np.clip(frame.astype(np.int16) + rng.integers(-3, 4, frame.shape), 0, 255), np.uint8)


def with_box(frame: Image, x: int, y: int, size: int = 12, value: int = 230) -> Image:
    out = frame.copy()
    out[y : y + size, x : x + size] = value
    return out


SETTINGS = MotionSettings(size=(64, 36), refresh_s=30.0)


def test_first_frame_passes_then_static_frames_are_gated() -> None:
    gate, base = MotionGate(SETTINGS), scene()
    first = gate.check(base, 0.0)
    assert first.passed and first.reason is GateReason.FIRST
    for i in range(1, 20):
        d = gate.check(noisy(base, i), i * 0.5)
        assert not d.passed and d.reason is GateReason.STATIC and d.changed < SETTINGS.min_changed


def test_a_moving_object_passes() -> None:
    gate, base = MotionGate(SETTINGS), scene()
    gate.check(base, 0.0)
    gate.check(noisy(base, 1), 0.5)
    d = gate.check(with_box(base, 40, 20), 1.0)
    assert d.passed and d.reason is GateReason.MOTION and d.changed > SETTINGS.min_changed
    d = gate.check(with_box(base, 70, 30), 1.5)  # moved on
    assert d.passed and d.reason is GateReason.MOTION


def test_a_new_static_object_is_absorbed_and_refresh_re_observes_it() -> None:
    gate, base = MotionGate(SETTINGS), scene()
    gate.check(base, 0.0)
    parked = with_box(base, 40, 20, size=16)
    passed = [gate.check(noisy(parked, i), 1.0 + i * 0.5) for i in range(120)]
    assert passed[0].reason is GateReason.MOTION
    assert not passed[-1].passed  # the background has learnt the parked thing: no longer motion
    t = 1.0 + 119 * 0.5
    last_pass = max(1.0 + i * 0.5 for i, d in enumerate(passed) if d.passed)
    # the forced refresh comes refresh_s after the last frame that passed, and only then
    assert not gate.check(noisy(parked, 500), last_pass + SETTINGS.refresh_s - 0.1).passed
    d = gate.check(noisy(parked, 501), max(t, last_pass + SETTINGS.refresh_s))
    assert d.passed and d.reason is GateReason.REFRESH


def test_global_lighting_changes_are_not_motion() -> None:
    gate, base = MotionGate(SETTINGS), scene()
    gate.check(base, 0.0)
    # a cloud: the whole picture 40 grey levels darker at once
    d = gate.check(np.clip(base.astype(np.int16) - 40, 0, 255).astype(np.uint8), 0.5)
    assert not d.passed
    # dusk: brightness drifting 1 level per frame for a minute of frames
    gate = MotionGate(SETTINGS)
    gate.check(base, 0.0)
    for i in range(1, 60):
        drifted = np.clip(base.astype(np.int16) + i, 0, 255).astype(np.uint8)
        assert not gate.check(noisy(drifted, i), i * 0.5).passed
    # motion under drifted lighting still passes
    assert gate.check(with_box(drifted, 30, 10), 30.0).passed


def test_a_new_frame_size_starts_over() -> None:
    gate = MotionGate(SETTINGS)
    gate.check(scene(), 0.0)
    bigger = np.zeros((H * 2, W * 2, 3), np.uint8)
    assert gate.check(bigger, 0.5).reason is GateReason.FIRST
    gate.reset()
    assert gate.check(bigger, 1.0).reason is GateReason.FIRST


def test_thumbnail_is_grey_of_the_requested_size() -> None:
    thumb = thumbnail(scene(), (64, 36))
    assert thumb.shape == (36, 64) and thumb.dtype == np.float32
    assert float(thumb.min()) >= 0.0 and float(thumb.max()) <= 255.0


@pytest.mark.parametrize(
    "kwargs",
    [{"size": (2, 2)}, {"alpha": 0.0}, {"alpha": 1.5}, {"min_changed": -0.1}, {"pixel_delta": -1}, {"refresh_s": 0}],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        MotionSettings(**kwargs)  # type: ignore[arg-type]
