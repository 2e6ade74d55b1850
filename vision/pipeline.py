"""Photo pipeline: decode images on worker threads while the detector runs batches on the caller's thread."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from domain.errors import ImageError
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import DEFAULT_MAX_PIXELS, DecodedImage, decode_image
from vision.sources import Source


@dataclass(frozen=True)
class PhotoResult:
    """Outcome for one source: detections with the photo size, or an error message."""

    path: str
    width: int = 0
    height: int = 0
    detections: Detections | None = None
    error: str | None = None


def _load(source: Source, target: int, max_pixels: int) -> DecodedImage | str:
    """Decode a source, returning the error message instead of raising for bad input."""
    if source.read is None:
        return source.error or "unreadable"
    try:
        return decode_image(source.read(), target=target, max_pixels=max_pixels)
    except ImageError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"


def detect_sources(
    sources: Iterable[Source],
    detector: Detector,
    *,
    batch_size: int = 1,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Iterator[PhotoResult]:
    """Run the detector over sources, yielding one result per source in input order.

    Decoding (OpenCV releases the GIL) overlaps inference; at most ``2 * batch_size + workers``
    decoded images are held at once, so a folder of any size runs in bounded memory.
    """
    if batch_size < 1 or workers < 1:
        raise ValueError("batch_size and workers must be at least 1")
    window = 2 * batch_size + workers
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        pending: deque[tuple[Source, Future[DecodedImage | str]]] = deque()
        it = iter(sources)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                src = next(it, None)
                if src is None:
                    exhausted = True
                else:
                    pending.append((src, pool.submit(_load, src, detector.imgsz, max_pixels)))
            if not pending:
                return
            ready: list[tuple[str, DecodedImage]] = []
            errors: list[PhotoResult] = []
            # take a batch in order; failures pass through without holding up the batch
            while pending and len(ready) < batch_size:
                src, fut = pending.popleft()
                loaded = fut.result()
                if isinstance(loaded, str):
                    if ready:  # keep output order: flush the batch before this error
                        pending.appendleft((src, fut))
                        break
                    errors.append(PhotoResult(src.path, error=loaded))
                    break
                ready.append((src.path, loaded))
            yield from errors
            if ready:
                dets = detector.detect([img for _, img in ready])
                for (path, img), det in zip(ready, dets, strict=True):
                    yield PhotoResult(path, img.width, img.height, det)
