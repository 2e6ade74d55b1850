"""The orphan sweep on the local evidence folder: pictures no case references are removed once old enough, the
ones cases use and the fresh ones (a writer may not have committed yet) are kept; also through the command line."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.main import main
from service.cases.manager import CaseManager
from service.store.evidence import EvidenceStore
from service.store.sweep import sweep_orphans
from tests.db_fixtures import picture, sighting

pytest_plugins = ["tests.db_fixtures"]


def test_sweep_removes_only_old_unreferenced_pictures(manager: CaseManager) -> None:
    blobs = manager.evidence
    assert isinstance(blobs, EvidenceStore)
    manager.ingest(*sighting(), [picture("kept")], "m1", "sha-kept")
    orphan = blobs.put(b"JPEG:orphan", "jpg")  # as a transaction that failed after writing its picture leaves it
    later = datetime.now(UTC) + timedelta(days=1)  # file times are the real clock's, not the test site's

    fresh = sweep_orphans(manager.store, blobs, min_age=timedelta(days=2), now=later)
    assert fresh.removed == [] and fresh.kept == 2  # too young to judge

    dry = sweep_orphans(manager.store, blobs, min_age=timedelta(0), now=later, dry_run=True)
    assert [b.sha256 for b in dry.removed] == [orphan.sha256] and blobs.path_for(orphan.sha256, "jpg").exists()

    swept = sweep_orphans(manager.store, blobs, min_age=timedelta(0), now=later)
    assert [b.sha256 for b in swept.removed] == [orphan.sha256] and swept.kept == 1
    assert not blobs.path_for(orphan.sha256, "jpg").exists()
    assert blobs.read(*_only(blobs)) == b"JPEG:kept"


def _only(blobs: EvidenceStore) -> tuple[str, str]:
    (blob,) = blobs.blobs()
    return blob.sha256, blob.ext


def test_sweep_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GRIDWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("GRIDWATCH_S3_BUCKET", raising=False)
    EvidenceStore(tmp_path / "evidence").put(b"JPEG:stray", "jpg")
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["evidence", "sweep", "--min-age-minutes", "1", "--dry-run"]) == 0
    assert "would remove 0 orphans, kept 1" in out.getvalue()  # written just now: kept
