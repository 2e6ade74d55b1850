"""Photo pipeline: decode images on worker threads while the detector runs batches on the caller's thread.

What ``gridwatch detect`` prints and what ``gridwatch scan`` judges come from the same :class:`PhotoDetector`:
the detector on the full frame, on overlapping tiles when the photo is much larger than the model's input
(:mod:`vision.tiling`), and the text finder's small ads (:mod:`vision.textfinder`) joining its ``poster`` boxes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.errors import ImageError
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import DEFAULT_MAX_PIXELS, DecodedImage, decode_image
from vision.ocr import PosterReader
from vision.sources import Source
from vision.textfinder import MAX_SIDE, POSTER, TextBlock, TextFinder, poster_detections
from vision.tiling import TileMode, TileSettings, detect_tiled, distinct

POSTER_IOU, POSTER_COVER = 0.5, 0.8  # a text block and a detector box this alike are one poster


@dataclass(frozen=True)
class PhotoResult:
    """Outcome for one source: detections with the photo size, or an error message."""

    path: str
    width: int = 0
    height: int = 0
    detections: Detections | None = None
    error: str | None = None
    texts: tuple[TextBlock, ...] = ()  # every block of text the text finder read, judged (none when it is off)


class PhotoDetector:
    """The photo pipeline's detection: full frame, tiles where they apply, and the text finder's small ads.

    Args:
        detector: the ONNX detector.
        tiles: when photos are tiled (:class:`TileSettings`; ``mode="off"``: never).
        finder: the text finder, or None to leave flyposting to the detector alone.
    """

    def __init__(self, detector: Detector, *, tiles: TileSettings | None = None, finder: TextFinder | None = None):
        self.detector = detector
        self.tiles = tiles or TileSettings()
        self.finder = finder

    @property
    def names(self) -> tuple[str, ...]:
        return self.detector.names

    @property
    def decode_side(self) -> int:
        """Long side photos are decoded at (at least): enough for the tiles and the text finder."""
        need = self.tiles.decode_side(self.detector.imgsz)
        return max(need, MAX_SIDE) if self.finder is not None else need

    def find(self, images: Sequence[DecodedImage]) -> list[tuple[Detections, tuple[TextBlock, ...]]]:
        """Each photo's detections (photo pixels) and the text blocks read on it. Photos not tiled share one
        batch; a tiled photo's full frame and tiles are a batch of their own."""
        tiled = [self.tiles.applies(im.width, im.height, self.detector.imgsz) for im in images]
        whole = iter(self.detector.detect([im for im, t in zip(images, tiled, strict=True) if not t]))
        found = []
        for image, tile in zip(images, tiled, strict=True):
            det = detect_tiled(self.detector, image, self.tiles) if tile else next(whole)
            blocks = tuple(self.finder.find(image)) if self.finder is not None else ()
            found.append((join_posters(det, blocks, (image.width, image.height)), blocks))
        return found


def photo_detector(detector: Detector, *, tiles: TileMode = "auto", reader: PosterReader | None) -> PhotoDetector:
    """The photo pipeline as ``detect`` and ``scan`` run it: ``tiles`` mode with the default grid, and the text
    finder reading with ``reader`` (None: no text finder)."""
    return PhotoDetector(
        detector, tiles=TileSettings(mode=tiles), finder=TextFinder(reader) if reader is not None else None
    )


def detect_frames(detector: Detector, frames: Sequence[tuple[TileMode, npt.NDArray[np.uint8]]]) -> list[Detections]:
    """Detections of camera frames, each (its camera's tile mode, (H, W, 3) BGR pixels): the frames not tiled in one
    batch, each tiled frame with its tiles in a batch of its own (:class:`TileSettings` defaults otherwise)."""
    images = [DecodedImage(pixels, pixels.shape[1], pixels.shape[0], "frame") for _, pixels in frames]
    tiles = [TileSettings(mode=mode) for mode, _ in frames]
    tiled = [t.applies(im.width, im.height, detector.imgsz) for t, im in zip(tiles, images, strict=True)]
    whole = iter(detector.detect([im for im, t in zip(images, tiled, strict=True) if not t]))
    return [
        detect_tiled(detector, im, t) if on else next(whole) for im, t, on in zip(images, tiles, tiled, strict=True)
    ]


def join_posters(det: Detections, blocks: Sequence[TextBlock], image_wh: tuple[int, int]) -> Detections:
    """``det`` with the blocks judged small ads joined to its ``poster`` boxes: one box per poster (a block and a
    detector box this alike, :data:`POSTER_IOU` / :data:`POSTER_COVER`, are one; the higher score stays)."""
    ads = poster_detections(blocks, det.names, image_wh)
    if not len(ads):
        return det
    posters = np.array([label == POSTER for label in det.labels], dtype=bool)
    both = Detections.merge([det[posters], ads])
    kept = both[distinct(both.xyxy, both.score, both.class_id, POSTER_IOU, POSTER_COVER)]
    return Detections.merge([det[~posters], kept])


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
    detector: Detector | PhotoDetector,
    *,
    batch_size: int = 1,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Iterator[PhotoResult]:
    """Run the detector over sources, yielding one result per source in input order.

    ``batch_size`` photos go to the detector at once (a tiled photo's tiles are a batch of their own). Decoding
    (OpenCV releases the GIL) overlaps inference; at most ``2 * batch_size + workers`` decoded images are held at
    once, so a folder of any size runs in bounded memory.
    """
    if batch_size < 1 or workers < 1:
        raise ValueError("batch_size and workers must be at least 1")
    window = 2 * batch_size + workers
    target = detector.decode_side if isinstance(detector, PhotoDetector) else detector.imgsz
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
                    pending.append((src, pool.submit(_load, src, target, max_pixels)))
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
            if ready and isinstance(detector, PhotoDetector):
                found = detector.find([img for _, img in ready])
                for (path, img), (det, texts) in zip(ready, found, strict=True):
                    yield PhotoResult(path, img.width, img.height, det, texts=texts)
            elif ready and isinstance(detector, Detector):
                dets = detector.detect([img for _, img in ready])
                for (path, img), det in zip(ready, dets, strict=True):
                    yield PhotoResult(path, img.width, img.height, det)
