"""Letterbox geometry and blob layout."""

from __future__ import annotations

import numpy as np
import pytest

from vision.preprocess import PAD_VALUE, fitted_size, input_shape, make_batch


@pytest.mark.parametrize(
    ("h", "w", "imgsz", "expected"),
    [(315, 560, 640, (360, 640)), (4000, 3000, 640, (640, 480)), (100, 100, 640, (640, 640)), (1, 5000, 640, (1, 640))],
)
def test_fitted_size_keeps_aspect(h: int, w: int, imgsz: int, expected: tuple[int, int]) -> None:
    fh, fw, gain = fitted_size(h, w, imgsz)
    assert (fh, fw) == expected
    assert gain == pytest.approx(imgsz / max(h, w))


@pytest.mark.parametrize(
    ("fitted", "rect", "expected"),
    [
        ([(360, 640)], True, (384, 640)),
        ([(360, 640)], False, (640, 640)),
        ([(360, 640), (640, 480)], True, (640, 640)),
        ([(100, 200), (90, 230)], True, (128, 256)),
    ],
)
def test_input_shape(fitted: list[tuple[int, int]], rect: bool, expected: tuple[int, int]) -> None:
    assert input_shape(fitted, 640, 32, rect) == expected


def test_make_batch_centres_scales_and_swaps_channels() -> None:
    blue = np.zeros((100, 200, 3), np.uint8)
    blue[..., 0] = 255  # BGR blue
    batch = make_batch([blue], 64, 32, rect=False)  # square input, so the image needs padding
    assert batch.blob.shape == (1, 3, 64, 64) and batch.blob.dtype == np.float32
    assert batch.gain[0] == pytest.approx(64 / 200)
    # 200x100 -> 64x32, centred vertically in a 64x64 input: 16 px of padding above
    assert batch.offset[0].tolist() == [0, 16]
    inside = batch.blob[0, :, 16:48, :]
    np.testing.assert_allclose(inside[2], 1.0)  # RGB order: blue is channel 2
    np.testing.assert_allclose(inside[:2], 0.0)
    np.testing.assert_allclose(batch.blob[0, :, :16, :], PAD_VALUE / 255, rtol=1e-6)


def test_make_batch_mixed_sizes_share_one_input() -> None:
    imgs = [np.full((300, 600, 3), 10, np.uint8), np.full((600, 300, 3), 200, np.uint8)]
    batch = make_batch(imgs, 320, 32, rect=True)
    assert batch.blob.shape == (2, 3, 320, 320)
    assert batch.offset.tolist() == [[0, 80], [80, 0]]


def test_make_batch_needs_images() -> None:
    with pytest.raises(ValueError, match="at least one"):
        make_batch([], 640, 32, rect=True)
