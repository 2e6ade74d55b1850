"""Letterbox pre-processing: place decoded images into one network input batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

PAD_VALUE = 114  # grey used by YOLO training; padding the same way keeps scores comparable


@dataclass(frozen=True)
class Batch:
    """One network input and how each image was placed in it.

    Attributes:
        blob: (B, 3, H, W) float32 RGB in [0, 1], H and W multiples of the model stride.
        gain: (B,) float32, input pixels per decoded-image pixel.
        offset: (B, 2) float32, left and top padding in input pixels.
    """

    blob: npt.NDArray[np.float32]
    gain: npt.NDArray[np.float32]
    offset: npt.NDArray[np.float32]


def fitted_size(height: int, width: int, imgsz: int) -> tuple[int, int, float]:
    """Size (h, w) of an image scaled to fit in an ``imgsz`` square, keeping its aspect, and the gain."""
    gain = min(imgsz / height, imgsz / width)
    return max(1, round(height * gain)), max(1, round(width * gain)), gain


def input_shape(fitted: Sequence[tuple[int, int]], imgsz: int, stride: int, rect: bool) -> tuple[int, int]:
    """Network input (H, W) for images of fitted sizes ``(h, w)``.

    With ``rect`` the input is the smallest stride-aligned box holding every image (fewer pixels
    to infer on for wide photos); otherwise the ``imgsz`` square a fixed-shape model expects.
    """
    if not rect:
        return imgsz, imgsz
    h = max(h for h, _ in fitted)
    w = max(w for _, w in fitted)
    return -(-h // stride) * stride, -(-w // stride) * stride


def make_batch(images: Sequence[npt.NDArray[np.uint8]], imgsz: int, stride: int, rect: bool) -> Batch:
    """Letterbox BGR uint8 images (h, w, 3) into one float batch, centred with grey padding."""
    if not images:
        raise ValueError("make_batch needs at least one image")
    fits = [fitted_size(img.shape[0], img.shape[1], imgsz) for img in images]
    in_h, in_w = input_shape([(h, w) for h, w, _ in fits], imgsz, stride, rect)
    padded = []
    offsets = np.empty((len(images), 2), np.float32)
    for i, (img, (h, w, _)) in enumerate(zip(images, fits, strict=True)):
        if img.shape[:2] != (h, w):
            img = np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)
        top, left = (in_h - h) // 2, (in_w - w) // 2
        padded.append(
            cv2.copyMakeBorder(
                img, top, in_h - h - top, left, in_w - w - left, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
            )
        )
        offsets[i] = (left, top)
    # blobFromImages does the BGR->RGB swap, HWC->CHW and 1/255 scaling in one C++ pass
    blob = cv2.dnn.blobFromImages(padded, scalefactor=1 / 255, swapRB=True)
    gains = np.array([g for _, _, g in fits], np.float32)
    return Batch(blob.astype(np.float32, copy=False), gains, offsets)
