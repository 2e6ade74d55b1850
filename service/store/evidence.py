"""Content-addressed evidence files: ``<root>/ab/cd/<sha256>.<ext>``, written atomically, stored once.

This is the local-disk backend of :class:`service.store.blobs.BlobStore`; object storage uses the same keys.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.store.models import EvidenceFile, EvidenceKind

_EXT = re.compile(r"[a-z0-9]{1,8}")
# errno values meaning the storage is full, not that the data is bad: the write is worth trying again later.
STORAGE_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_storage_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in STORAGE_FULL


_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/(?P<sha256>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,8})")


@dataclass(frozen=True)
class EvidenceInput:
    """A picture to keep with a case: its encoded bytes, its extension (``jpg``) and what it shows."""

    kind: EvidenceKind
    data: bytes
    ext: str


@dataclass(frozen=True)
class StoredEvidence:
    """A stored picture and its key in the evidence store (``ab/cd/<sha256>.<ext>``)."""

    sha256: str
    ext: str
    size: int
    key: str


@dataclass(frozen=True)
class StoredBlob:
    """A picture found in the evidence store, and when it was written (aware UTC)."""

    sha256: str
    ext: str
    written_at: datetime


def parse_key(key: str, written_at: datetime) -> StoredBlob | None:
    """The blob named by an ``ab/cd/<sha256>.<ext>`` key, None for any other name (temp files, strangers)."""
    match = _KEY.fullmatch(key)
    if match is None or match.group(1) != match["sha256"][:2] or match.group(2) != match["sha256"][2:4]:
        return None
    return StoredBlob(match["sha256"], match["ext"], written_at)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def evidence_key(sha256: str, ext: str) -> str:
    """``ab/cd/<sha256>.<ext>``; validates both parts (they become a path or an object key)."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex sha256: {sha256!r}")
    if not _EXT.fullmatch(ext):
        raise ValueError(f"bad evidence extension {ext!r}: 1-8 lowercase letters or digits")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{ext}"


class EvidenceStore:
    """The evidence folder (``$GRIDWATCH_DATA_DIR/evidence``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def location(self) -> str:
        return str(self.root)

    def path_for(self, sha256: str, ext: str) -> Path:
        """Where the file with this content hash lives; validates both parts (they become a path)."""
        return self.root / evidence_key(sha256, ext)

    def put(self, data: bytes, ext: str) -> StoredEvidence:
        """Store ``data`` under its content hash unless that file is already there."""
        digest = sha256_hex(data)
        path = self.path_for(digest, ext.lower())
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Temp file in the same folder + fsync + rename: readers never see a half-written file and a
            # crash leaves at most a stray temp file, never a truncated one under the final name.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=f".{ext}")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredEvidence(digest, ext.lower(), len(data), evidence_key(digest, ext.lower()))

    def read(self, sha256: str, ext: str) -> bytes:
        return self.path_for(sha256, ext).read_bytes()

    def blobs(self) -> Iterator[StoredBlob]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            blob = parse_key(path.relative_to(self.root).as_posix(), written)
            if blob is not None:
                yield blob

    def delete(self, blob: StoredBlob) -> None:
        self.path_for(blob.sha256, blob.ext).unlink(missing_ok=True)


def record_evidence(session: Session, stored: StoredEvidence, at: datetime) -> None:
    """Insert the evidence row for a stored file unless it exists (concurrent writers included)."""
    values = {"sha256": stored.sha256, "ext": stored.ext, "size": stored.size, "created_at": at}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(EvidenceFile).values(values).on_conflict_do_nothing(index_elements=["sha256"]))
