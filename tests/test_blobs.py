"""Evidence storage backends: the local folder and S3-compatible object storage (a real moto S3 server on a
free port, spoken to over HTTP by boto3), through the one :class:`BlobStore` interface and through a scan."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.context import open_context
from service.core.config import Settings
from service.scan import scan
from service.store.blobs import BlobStore, S3BlobStore, open_blob_store
from service.store.evidence import EvidenceStore, sha256_hex
from service.store.models import EvidenceFile
from tests.cluster_fixtures import PLACE
from tests.conftest import SAMPLES
from vision.detector import Detector

pytest_plugins = ["tests.cluster_fixtures"]

pytest.importorskip("boto3", reason="S3 evidence needs boto3 (the [s3] or [cluster] extra)")
pytest.importorskip("moto.server", reason="the S3 tests run a moto server (moto[server], test extra)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server in a child process for this module's tests."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the moto S3 server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def s3_settings(s3_endpoint: str, tmp_path: Path) -> Settings:
    """Settings naming a new bucket on the server (created here, as an operator would beforehand)."""
    settings = Settings(
        data_dir=tmp_path,
        s3_bucket=f"gw-{uuid.uuid4().hex[:12]}",
        s3_endpoint=s3_endpoint,
        s3_region="us-east-1",
        s3_access_key="testing",
        s3_secret_key="testing",  # type: ignore[arg-type]  # pydantic turns it into a SecretStr
    )
    store = S3BlobStore.from_settings(settings)
    store.client.create_bucket(Bucket=settings.s3_bucket)
    return settings


def _backends(tmp_path: Path, s3_settings: Settings) -> list[BlobStore]:
    return [EvidenceStore(tmp_path / "evidence"), open_blob_store(s3_settings)]


def test_settings_choose_the_backend(s3_settings: Settings, tmp_path: Path) -> None:
    local = open_blob_store(Settings(data_dir=tmp_path))
    assert isinstance(local, EvidenceStore) and local.location == str(tmp_path / "evidence")
    remote = open_blob_store(s3_settings)
    assert isinstance(remote, S3BlobStore) and remote.location == f"s3://{s3_settings.s3_bucket}/evidence/"


def test_both_backends_are_content_addressed_and_store_once(s3_settings: Settings, tmp_path: Path) -> None:
    data = b"\xff\xd8 not really a jpeg"
    digest = sha256_hex(data)
    for blobs in _backends(tmp_path, s3_settings):
        first = blobs.put(data, "JPG")
        assert first == blobs.put(data, "jpg")
        assert (first.sha256, first.ext, first.size) == (digest, "jpg", len(data))
        assert first.key == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
        assert blobs.read(digest, "jpg") == data
        with pytest.raises(FileNotFoundError):
            blobs.read("0" * 64, "jpg")
        with pytest.raises(ValueError, match="sha256"):
            blobs.read("../../etc/passwd", "jpg")
        with pytest.raises(ValueError, match="extension"):
            blobs.put(data, "j/pg")


def test_both_backends_list_and_delete_what_the_sweep_walks(s3_settings: Settings, tmp_path: Path) -> None:
    for blobs in _backends(tmp_path, s3_settings):
        stored = blobs.put(b"a picture", "jpg")
        (listed,) = blobs.blobs()
        assert (listed.sha256, listed.ext) == (stored.sha256, "jpg") and listed.written_at.tzinfo is not None
        blobs.delete(listed)
        blobs.delete(listed)  # gone already is fine
        assert list(blobs.blobs()) == []


def test_objects_land_under_the_prefix_with_a_content_type(s3_settings: Settings) -> None:
    blobs = S3BlobStore.from_settings(s3_settings)
    stored = blobs.put(b"PNG bytes", "png")
    listed = blobs.client.list_objects_v2(Bucket=blobs.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"evidence/{stored.key}"]
    head = blobs.client.head_object(Bucket=blobs.bucket, Key=f"evidence/{stored.key}")
    assert head["ContentType"] == "image/png" and head["ContentLength"] == len(b"PNG bytes")


def test_a_scan_keeps_its_evidence_in_the_bucket(
    s3_settings: Settings, place_site: Path, detector: Detector, tmp_path: Path
) -> None:
    with open_context(s3_settings.model_copy(update={"site": place_site}), detector=detector) as ctx:
        report = scan([SAMPLES], ctx, place=PLACE)
        assert report.violations > 0 and isinstance(ctx.evidence, S3BlobStore)
        with ctx.store.session() as s:
            rows = s.query(EvidenceFile).all()
        assert rows and all(sha256_hex(ctx.evidence.read(r.sha256, r.ext)) == r.sha256 for r in rows)
    assert not (tmp_path / "evidence").exists()  # nothing on the local disk
