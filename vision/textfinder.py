"""Flyposting found by what it says: text read over a whole photo, grouped into blocks, each judged.

The detector barely learns small ads (no real labelled ones exist to train on), but a small ad is text with a
service and a number to call. :class:`TextFinder` reads every line of text on the photo (RapidOCR, through
:class:`vision.ocr.PosterReader`), groups lines into blocks (one pasted sheet: lines of similar height, stacked
close together), looks for QR codes (OpenCV's detector) and copies of the same text, and has
:func:`vision.smallads.judge` decide each block. Blocks judged small ads become ``poster`` boxes that join the
detector's (:func:`poster_detections`), and every block keeps its text and phone numbers for the case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.detections import Detections
from vision.imageio import DecodedImage
from vision.ocr import Phone, PosterReader, TextLine, find_phones
from vision.smallads import JudgeSettings, Verdict, judge, normalise

POSTER = "poster"
MAX_SIDE = 1600  # pixels the text is read at (long side): small print on a 12 MP photo, in bounded time


@dataclass(frozen=True)
class TextBlock:
    """A block of text read on a photo, judged.

    Attributes:
        xyxy: corners x1, y1, x2, y2 in photo pixels.
        lines: the lines as read, top to bottom.
        phones: phone numbers found in them, each once.
        verdict: small ad or not, with its score and cues.
    """

    xyxy: tuple[float, float, float, float]
    lines: tuple[str, ...]
    phones: tuple[Phone, ...]
    verdict: Verdict

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _line_boxes(lines: Sequence[TextLine]) -> npt.NDArray[np.float64]:
    """(L, 4) axis-aligned boxes of the lines' corner points."""
    if not lines:
        return np.zeros((0, 4), np.float64)
    pts = [np.asarray(line.points, np.float64) for line in lines]
    return np.array([[p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()] for p in pts], np.float64)


def group_lines(boxes: npt.NDArray[np.float64], gap: float = 1.0, height_ratio: float = 2.0) -> list[list[int]]:
    """Lines of one sheet: each (L, 4) box joins a neighbour of similar height (within ``height_ratio``) that
    overlaps it horizontally and lies at most ``gap`` line heights above or below it (transitively).

    Returns the groups as lists of line indices, each top to bottom, groups in order of their first line.
    """
    n = len(boxes)
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            small, large = sorted((h[i], h[j]))
            if large > height_ratio * small:
                continue
            if min(boxes[i, 2], boxes[j, 2]) <= max(boxes[i, 0], boxes[j, 0]):
                continue  # no horizontal overlap
            vertical_gap = max(boxes[i, 1], boxes[j, 1]) - min(boxes[i, 3], boxes[j, 3])
            if vertical_gap <= gap * small:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in sorted(range(n), key=lambda k: (boxes[k, 1], boxes[k, 0])):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def find_qr(image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """(Q, 4) boxes of the QR codes OpenCV finds in the image (pixels); found, not necessarily decodable."""
    ok, points = cv2.QRCodeDetector().detectMulti(image_bgr)
    if not ok or points is None:
        return np.zeros((0, 4), np.float64)
    pts = np.asarray(points, np.float64).reshape(-1, 4, 2)
    return np.concatenate([pts.min(axis=1), pts.max(axis=1)], axis=1)


def _near(block: npt.NDArray[np.float64], qr: npt.NDArray[np.float64]) -> bool:
    """A QR code's centre lies in the block grown by its own height."""
    if not len(qr):
        return False
    grow = block[3] - block[1]
    cx, cy = (qr[:, 0] + qr[:, 2]) / 2, (qr[:, 1] + qr[:, 3]) / 2
    inside = (cx >= block[0] - grow) & (cx <= block[2] + grow) & (cy >= block[1] - grow) & (cy <= block[3] + grow)
    return bool(inside.any())


def judge_blocks(
    lines: Sequence[TextLine],
    qr: npt.NDArray[np.float64],
    height: int,
    settings: JudgeSettings | None = None,
) -> list[TextBlock]:
    """Group ``lines`` (read on an image ``height`` pixels high) into blocks and judge each; boxes in the lines'
    pixels. ``qr``: (Q, 4) QR code boxes in the same pixels."""
    boxes = _line_boxes(lines)
    groups = group_lines(boxes)
    texts = [tuple(lines[i].text for i in g) for g in groups]
    copies = Counter(normalise("".join(t)) for t in texts)
    blocks = []
    for group, text in zip(groups, texts, strict=True):
        box = np.concatenate([boxes[group, :2].min(axis=0), boxes[group, 2:].max(axis=0)])
        phones: dict[str, Phone] = {}
        for candidate in [*text, " ".join(text)]:
            for phone in find_phones(candidate):
                phones.setdefault(phone.number, phone)
        letter = float(np.median(boxes[group, 3] - boxes[group, 1])) / max(height, 1)
        key = normalise("".join(text))
        verdict = judge(
            text,
            list(phones.values()),
            letter=letter,
            qr=_near(box, qr),
            copies=copies[key] if len(key) >= 4 else 1,  # two short labels reading alike are not copies
            settings=settings,
        )
        x1, y1, x2, y2 = (float(v) for v in box)
        blocks.append(TextBlock((x1, y1, x2, y2), text, tuple(phones.values()), verdict))
    return blocks


class TextFinder:
    """Reads and judges the text of whole photos.

    Args:
        reader: the OCR (shared with whoever else reads posters; one call at a time).
        settings: the judgement's thresholds.
        max_side: long side in pixels the photo is read at (larger photos are shrunk first).
    """

    def __init__(
        self, reader: PosterReader, settings: JudgeSettings | None = None, *, max_side: int = MAX_SIDE
    ) -> None:
        self.reader = reader
        self.settings = settings or JudgeSettings()
        self.max_side = max_side

    def find(self, image: DecodedImage, *, frame_height: int | None = None) -> list[TextBlock]:
        """Every block of text on the photo, judged, boxes in photo pixels. ``frame_height``: when ``image`` is a
        crop of a larger frame, that frame's height in the crop's pixels (letter sizes are judged against it)."""
        pixels = image.pixels
        shrink = min(1.0, self.max_side / max(pixels.shape[:2]))
        if shrink < 1.0:
            size = (max(1, round(pixels.shape[1] * shrink)), max(1, round(pixels.shape[0] * shrink)))
            pixels = np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), np.uint8)
        height = round((frame_height or image.pixels.shape[0]) * shrink)
        blocks = judge_blocks(self.reader.read(pixels), find_qr(pixels), height, self.settings)
        sx, sy = image.width / pixels.shape[1], image.height / pixels.shape[0]
        return [
            TextBlock((b.xyxy[0] * sx, b.xyxy[1] * sy, b.xyxy[2] * sx, b.xyxy[3] * sy), b.lines, b.phones, b.verdict)
            for b in blocks
        ]


def poster_detections(
    blocks: Sequence[TextBlock], names: Sequence[str], image_wh: tuple[int, int], pad: float = 0.15
) -> Detections:
    """The blocks judged small ads as ``poster`` detections of a model with class ``names``; each box grown by
    ``pad`` of its height on every side (the sheet around its print) within the ``image_wh`` photo, score
    min(1, verdict score / 2)."""
    ads = [b for b in blocks if b.verdict.small_ad]
    if not ads or POSTER not in names:
        return Detections.empty(names)
    xyxy = np.array([b.xyxy for b in ads], np.float32)
    grow = pad * (xyxy[:, 3] - xyxy[:, 1])
    xyxy = xyxy + np.stack([-grow, -grow, grow, grow], axis=1)
    np.clip(xyxy, 0, np.array([*image_wh, *image_wh], np.float32), out=xyxy)
    score = np.array([min(1.0, b.verdict.score / 2) for b in ads], np.float32)
    return Detections(xyxy, score, np.full(len(ads), list(names).index(POSTER), np.int32), tuple(names))
