"""The privacy-safe rendition of every evidence picture that leaves the service (API, exports).

The detector runs on the picture itself (so its boxes are in that picture's pixels), :func:`vision.privacy.
blur_private` pixelates heads and plates, and the JPEG is cached under ``$GRIDWATCH_DATA_DIR/evidence-private/
v<N>/`` by the source's sha256: each picture is analysed once. Changing the privacy rules bumps ``VERSION``,
so older renditions are never served again.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cases.queries import visible_condition
from service.evidence_render import encode_jpeg
from service.store.models import Case, EvidenceFile, EvidenceLink
from vision.detector import Detector
from vision.imageio import decode_image
from vision.privacy import blur_private

VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PrivateEvidence:
    """Blurred JPEG renditions of stored evidence files."""

    def __init__(self, read: Callable[[str, str], bytes], cache_root: Path, detector: Callable[[], Detector]) -> None:
        self._read = read  # the evidence store's read(sha256, ext)
        self.root = cache_root / f"v{VERSION}"
        self._detector = detector

    def rendition(self, sha256: str, ext: str) -> bytes:
        """The blurred JPEG of evidence file ``sha256``; raises ``ValueError`` for a bad hash, ``OSError`` if
        the file is missing, ``ImageError`` if it is not a picture."""
        if not _SHA256.fullmatch(sha256):  # it becomes a path below
            raise ValueError(f"not a lowercase hex sha256: {sha256!r}")
        cached = self.root / sha256[:2] / sha256[2:4] / f"{sha256}.jpg"
        if cached.is_file():
            return cached.read_bytes()
        image = decode_image(self._read(sha256, ext))
        detections = self._detector().detect([image])[0]
        data = encode_jpeg(blur_private(image.pixels, detections))
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".tmp-", suffix=".jpg")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, cached)  # concurrent renderers write the same bytes: last rename wins, both whole
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return data


def visible_evidence(session: Session, sha256: str, units: frozenset[str] | None) -> EvidenceFile | None:
    """The evidence row of ``sha256`` if it belongs to a case the caller sees (``units`` None: every case)."""
    query = (
        select(EvidenceFile)
        .join(EvidenceLink, EvidenceLink.sha256 == EvidenceFile.sha256)
        .join(Case, Case.id == EvidenceLink.case_id)
        .where(EvidenceFile.sha256 == sha256, visible_condition(units))
        .limit(1)
    )
    return session.scalar(query)
