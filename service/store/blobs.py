"""Evidence storage behind one interface: the local evidence folder (default) or S3-compatible object storage.

Both keep each picture once under its content hash (``ab/cd/<sha256>.<ext>``, see :func:`evidence_key`), so the
evidence rows in the case store mean the same thing whichever backend wrote them, and a cluster of workers that
shares no disk shares one bucket. Set ``GRIDWATCH_S3_BUCKET`` (with ``GRIDWATCH_S3_ENDPOINT`` for MinIO, Ceph and
other S3-compatible servers, and keys unless the AWS credential chain provides them) to use object storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from service.core.config import Settings
from service.store.evidence import EvidenceStore, StoredBlob, StoredEvidence, evidence_key, parse_key, sha256_hex

_CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class BlobStore(Protocol):
    """Content-addressed picture storage: writing the same bytes twice stores them once."""

    @property
    def location(self) -> str:
        """Where the pictures are, for messages (a folder or ``s3://bucket/prefix``)."""
        ...

    def put(self, data: bytes, ext: str) -> StoredEvidence:
        """Store ``data`` under its content hash unless it is already there; the object appears whole or not."""
        ...

    def read(self, sha256: str, ext: str) -> bytes:
        """The stored bytes; ``ValueError`` for a malformed hash or extension, ``FileNotFoundError`` if absent."""
        ...

    def blobs(self) -> Iterator[StoredBlob]:
        """Every stored picture (any order), with when it was written: what the orphan sweep walks."""
        ...

    def delete(self, blob: StoredBlob) -> None:
        """Remove one stored picture (gone already is fine)."""
        ...


class S3BlobStore:
    """Evidence objects in an S3 bucket under ``prefix`` (an S3 PUT is atomic: readers never see half a file)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "evidence/") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        """A client for ``GRIDWATCH_S3_*``; keys left unset fall back to boto3's credential chain."""
        if settings.s3_bucket is None:
            raise ValueError("GRIDWATCH_S3_BUCKET is not set")
        # Imported here: only object storage needs boto3 (the [s3] and [cluster] extras).
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=secret,
            # Path-style addressing works with every S3-compatible server; bucket-in-hostname needs DNS for it.
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, sha256: str, ext: str) -> str:
        return self.prefix + evidence_key(sha256, ext)

    def exists(self, sha256: str, ext: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256, ext))
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    def put(self, data: bytes, ext: str) -> StoredEvidence:
        ext = ext.lower()
        digest = sha256_hex(data)
        key = evidence_key(digest, ext)
        # A HEAD is far cheaper than uploading a photo again; a race between two writers of the same bytes
        # uploads the same object twice, which S3 resolves to one.
        if not self.exists(digest, ext):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + key,
                Body=data,
                ContentType=_CONTENT_TYPES.get(ext, "application/octet-stream"),
            )
        return StoredEvidence(digest, ext, len(data), key)

    def read(self, sha256: str, ext: str) -> bytes:
        key = self._key(sha256, ext)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(f"no evidence object {self.location}{key[len(self.prefix) :]}") from exc
            raise
        data: bytes = response["Body"].read()
        return data

    def blobs(self) -> Iterator[StoredBlob]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                blob = parse_key(item["Key"][len(self.prefix) :], item["LastModified"])
                if blob is not None:  # an object that is not evidence (a stranger in a shared bucket) is left alone
                    yield blob

    def delete(self, blob: StoredBlob) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(blob.sha256, blob.ext))


def open_blob_store(settings: Settings) -> BlobStore:
    """The evidence store ``settings`` name: the S3 bucket when one is set, else ``data_dir/evidence``."""
    if settings.s3_bucket is not None:
        return S3BlobStore.from_settings(settings)
    return EvidenceStore(settings.data_dir / "evidence")
