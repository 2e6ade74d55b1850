"""One full-resolution frame from a camera's main stream, for evidence.

A camera that names a low-resolution detect stream (its sub-stream, Frigate's "detect" role) is watched on that
stream alone; its main stream is opened only when evidence is needed, read up to its first usable frame and closed.
"""

from __future__ import annotations

import cv2

from vision.stream.reader import Image, ReaderSettings, is_url, redact_source, usable

MAX_READS = 50  # frames read while waiting for a decodable one (a live stream joined between keyframes)


def grab_still(source: str, settings: ReaderSettings | None = None) -> Image:
    """The first usable frame of ``source`` (rtsp://, http(s):// or a file), (H, W, 3) uint8 BGR.

    Raises:
        OSError: the source cannot be opened or gives no usable frame within ``MAX_READS`` reads (each bounded by
            the settings' read timeout).
    """
    s = settings or ReaderSettings()
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, round(s.open_timeout_s * 1000)]
    params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, round(s.read_timeout_s * 1000)]
    cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    try:
        if not cap.isOpened():
            raise OSError(f"cannot open {redact_source(source)}")
        for _ in range(MAX_READS):
            ok, image = cap.read()
            if usable(image, None):
                return image
            if not ok and not is_url(source):
                break  # a file that ended
        raise OSError(f"no usable frame from {redact_source(source)}")
    finally:
        cap.release()
