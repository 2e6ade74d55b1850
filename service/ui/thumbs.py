"""Small JPEG thumbnails of the privacy-safe evidence renditions, for lists that show many cases at once.

A review queue of 20 cases with two pictures each would otherwise load 40 full renditions (up to 1920 px, a few
hundred KB each); a thumbnail is at most :data:`THUMB_SIDE` px on its long side and a few KB. Thumbnails are made
from :meth:`PrivateEvidence.rendition` (so faces and plates stay pixelated, and the expensive analysis is cached on
disk there) and kept in memory, least recently used first out, up to :data:`CACHE_BYTES`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import cv2
import numpy as np

from service.evidence_privacy import PrivateEvidence
from service.evidence_render import encode_jpeg

THUMB_SIDE = 360  # px, the long side: sharp on a 2x screen at the queue's ~180 px picture width
THUMB_QUALITY = 70
CACHE_BYTES = 64 * 1024 * 1024


def shrink_jpeg(data: bytes, side: int = THUMB_SIDE, quality: int = THUMB_QUALITY) -> bytes:
    """JPEG bytes of the picture ``data`` scaled so its long side is at most ``side`` px (never enlarged).

    Raises ``ValueError`` when ``data`` is not a picture OpenCV decodes.
    """
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a decodable picture")
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return encode_jpeg(image.astype(np.uint8, copy=False), quality)


class Thumbnails:
    """Thumbnails of evidence renditions by sha256, cached in memory (thread-safe)."""

    def __init__(self, renditions: PrivateEvidence, cache_bytes: int = CACHE_BYTES) -> None:
        self._renditions = renditions
        self._limit = cache_bytes
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def thumbnail(self, sha256: str, ext: str) -> bytes:
        """The thumbnail of evidence file ``sha256`` (stored with extension ``ext``); errors as for
        :meth:`PrivateEvidence.rendition`."""
        with self._lock:
            cached = self._cache.get(sha256)
            if cached is not None:
                self._cache.move_to_end(sha256)
                return cached
        data = shrink_jpeg(self._renditions.rendition(sha256, ext))
        with self._lock:
            if sha256 not in self._cache:
                self._cache[sha256] = data
                self._size += len(data)
            while self._size > self._limit and self._cache:
                _, dropped = self._cache.popitem(last=False)
                self._size -= len(dropped)
        return data
