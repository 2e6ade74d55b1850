"""Text on posters and the phone numbers in it: what enforcement acts on for small ads (小广告).

Reading uses RapidOCR (PP-OCRv4 detection and recognition as ONNX models shipped inside the
``rapidocr_onnxruntime`` wheel; nothing is downloaded). Phone numbers are then found in the text by
:func:`find_phones`: Chinese mobiles (11 digits, 13x-19x, often printed 3-4-4 with spaces or dashes, maybe
after +86) and landlines (area code 0AA or 0AAA, then 7-8 digits), normalised to digits only for mobiles and
``0AA-NNNNNNNN`` for landlines, so the same number printed differently is one number.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
PhoneKind = Literal["mobile", "landline"]

_SEP = r"[\s\-.·]?"
_MOBILE = re.compile(rf"(?<![\d])(?:(?:\+|00)?86{_SEP})?(1[3-9]\d(?:{_SEP}\d){{8}})(?![\d])")
# Area codes: 010 and 02X are three digits, the rest four (0AAA); the subscriber number is 7 or 8 digits.
_LANDLINE = re.compile(r"(?<![\d])[(]?(0(?:10|2\d|[3-9]\d{2}))[)]?[\s\-]?([2-9]\d{2,3}[\s\-]?\d{4})(?![\d])")
# Letters OCR reads for digits, mapped only between digits and separators (never in words).
_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "Z": "2", "S": "5", "B": "8"})
_NON_DIGIT = re.compile(r"\D")
_DIGITISH = re.compile(r"[\dOoDlI|ZSB](?:[\dOoDlI|ZSB\s\-.·]*[\dOoDlI|ZSB])?")


@dataclass(frozen=True)
class Phone:
    """A phone number found in a line of text."""

    number: str
    kind: PhoneKind
    text: str


def _clean(text: str) -> str:
    """Full-width digits and dashes to ASCII (NFKC), OCR look-alike letters to digits inside digit runs."""
    text = unicodedata.normalize("NFKC", text).replace("\u2014", "-").replace("\u2013", "-")

    def fix(match: re.Match[str]) -> str:
        run = match.group(0)
        return run.translate(_LOOKALIKES) if sum(c.isdigit() for c in run) >= 6 else run

    return _DIGITISH.sub(fix, text)


def find_phones(text: str) -> list[Phone]:
    """Every mobile and landline number in ``text``, normalised, in order of appearance, each once."""
    clean = _clean(text)
    found: dict[str, Phone] = {}
    spans: list[tuple[int, int]] = []
    for match in _MOBILE.finditer(clean):
        number = _NON_DIGIT.sub("", match.group(1))
        found.setdefault(number, Phone(number, "mobile", text))
        spans.append(match.span())
    for match in _LANDLINE.finditer(clean):
        if any(start < match.end() and match.start() < end for start, end in spans):
            continue  # digits of a mobile already taken
        number = match.group(1) + "-" + _NON_DIGIT.sub("", match.group(2))
        found.setdefault(number, Phone(number, "landline", text))
    return list(found.values())


@dataclass(frozen=True)
class TextLine:
    """One line of text read in an image: its corner points (pixels), text and recognition score."""

    points: tuple[tuple[float, float], ...]
    text: str
    score: float


class PosterReader:
    """Reads text with RapidOCR; the ONNX sessions load on first use and are shared by threads (one at a time).

    Args:
        threads: intra-op CPU threads for each of the three models; 0 lets onnxruntime decide.
        min_score: recognition score below which a line is dropped.
    """

    def __init__(self, *, threads: int = 0, min_score: float = 0.5) -> None:
        self.threads = threads
        self.min_score = min_score
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]  # heavy: only when needed

        threads = self.threads or -1
        return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, text_score=self.min_score)

    def read(self, image_bgr: Image) -> list[TextLine]:
        """Text lines of an image (a poster crop, typically), top to bottom as RapidOCR orders them."""
        if image_bgr.size == 0:
            return []
        with self._lock:
            if self._engine is None:
                self._engine = self._load()
            result, _ = self._engine(np.ascontiguousarray(image_bgr))
        return [
            TextLine(tuple((float(x), float(y)) for x, y in points), str(text), float(score))
            for points, text, score in result or ()
            if float(score) >= self.min_score
        ]

    def phones(self, image_bgr: Image, boxes: Sequence[Sequence[float]] = (), margin: float = 0.05) -> list[Phone]:
        """Phone numbers on the posters at ``boxes`` (normalised xyxy; empty: the whole image), each once.

        Lines are also read joined per poster, so a number split over two OCR lines (``138 0013`` / ``8000``)
        is still found.
        """
        h, w = image_bgr.shape[:2]
        regions = [tuple(b) for b in boxes] or [(0.0, 0.0, 1.0, 1.0)]
        found: dict[str, Phone] = {}
        for x1, y1, x2, y2 in regions:
            mx, my = margin * (x2 - x1), margin * (y2 - y1)
            left, top = int(max(0.0, x1 - mx) * w), int(max(0.0, y1 - my) * h)
            right, bottom = int(min(1.0, x2 + mx) * w), int(min(1.0, y2 + my) * h)
            lines = [line.text for line in self.read(image_bgr[top:bottom, left:right])]
            for text in [*lines, " ".join(lines)]:
                for phone in find_phones(text):
                    found.setdefault(phone.number, phone)
        return list(found.values())
