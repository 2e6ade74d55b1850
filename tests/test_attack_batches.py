"""The attacks on photo batches that the independent attack found (issue 14), each through the real API on a real
store with the real batch worker: a poison photo whose EXIF date overflows, a photo that fails for an unexpected
reason, operators cancelling a batch, a flood of refused zip entries, working files left on disk, client file names
used as server paths, and a client that drops mid-upload.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from domain.errors import UploadError
from service.batches.ingest import BatchFolder, Limits, batch_dir
from service.batches.worker import MAX_ATTEMPTS
from service.scan import scan_photo
from tests.api_fixtures import Api, batch_app
from tests.hostile_inputs import build_zip
from tests.test_batches import PLACE, wait_done
from vision.detector import Detector
from vision.exif import DATETIME_ORIGINAL, EXIF_IFD, OFFSET_TIME_ORIGINAL

pytest_plugins = ["tests.db_fixtures"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> Iterator[Api]:
    with batch_app(tmp_path_factory.mktemp("attack-batches"), detector) as api:
        yield api


def plain_jpeg(taken: str | None = None, offset: str | None = None, shade: int = 128) -> bytes:
    """A flat grey JPEG (nothing to detect) with the given EXIF DateTimeOriginal and OffsetTimeOriginal."""
    image = Image.new("RGB", (64, 48), (shade, shade, shade))
    exif = Image.Exif()
    sub = exif.get_ifd(EXIF_IFD)
    if taken is not None:
        sub[DATETIME_ORIGINAL] = taken
    if offset is not None:
        sub[OFFSET_TIME_ORIGINAL] = offset
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def upload(api: Api, files: list[tuple[str, bytes]], **data: str) -> dict[str, Any]:
    parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
    response = api.client.post("/api/v1/batches", headers=api.as_("operator"), files=parts, data=data)
    assert response.status_code == 202, response.text
    return dict(response.json())


def items(api: Api, batch_id: str) -> list[dict[str, Any]]:
    response = api.client.get(f"/api/v1/batches/{batch_id}/items", headers=api.as_("operator"))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# ---- 1. one photo must never stop batch processing --------------------------------------------------------


@pytest.mark.parametrize(
    ("taken", "offset"),
    [("9999:12:31 23:59:59", "-14:00"), ("0001:01:01 00:00:00", None), ("1000:06:01 12:00:00", "+08:00")],
)
def test_an_implausible_exif_date_falls_back_and_later_batches_keep_flowing(
    api: Api, taken: str, offset: str | None
) -> None:
    poison = upload(api, [("poison.jpg", plain_jpeg(taken, offset))], place=PLACE)
    later = upload(api, [("later.jpg", plain_jpeg("2026:03:02 10:00:00", "+08:00", shade=90))], place=PLACE)
    headers = api.as_("operator")
    done = wait_done(api.client, headers, poison["id"], timeout=60)
    assert (done["processed"], done["failed"]) == (1, 0), done
    assert wait_done(api.client, headers, later["id"], timeout=60)["processed"] == 1
    [item] = items(api, poison["id"])
    taken_at = datetime.fromisoformat(item["taken_at"])
    assert abs(taken_at - datetime.now(UTC)) < timedelta(hours=1), "falls back like a photo without EXIF time"
    assert "implausible" in item["time_note"]
    [good] = items(api, later["id"])
    assert good["taken_at"].startswith("2026-03-02T02:00:00") and good["time_note"] is None


def test_a_photo_that_fails_unexpectedly_fails_alone_after_bounded_retries(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def broken(ctx: Any, result: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(result.path).name == "cursed.jpg":
            calls.append(result.path)
            raise OverflowError("date value out of range")
        return scan_photo(ctx, result, *args, **kwargs)

    monkeypatch.setattr("service.batches.worker.scan_photo", broken)
    batch = upload(api, [("cursed.jpg", plain_jpeg(shade=10)), ("fine.jpg", plain_jpeg(shade=200))], place=PLACE)
    after = upload(api, [("after.jpg", plain_jpeg(shade=60))], place=PLACE)
    headers = api.as_("operator")
    done = wait_done(api.client, headers, batch["id"], timeout=60)
    assert (done["processed"], done["failed"]) == (2, 1), done
    assert "internal error" in done["errors"][0]["error"] and done["errors"][0]["name"] == "cursed.jpg"
    assert len(calls) == MAX_ATTEMPTS
    assert wait_done(api.client, headers, after["id"], timeout=60)["failed"] == 0


def test_an_operator_cancels_a_queued_batch(api: Api) -> None:
    worker = api.app.state.batch_worker
    worker.stop()  # the batch must still be queued when the operator cancels it
    try:
        batch = upload(api, [(f"{i}.jpg", plain_jpeg(shade=i)) for i in range(3)], place=PLACE)
        viewer = api.client.post(f"/api/v1/batches/{batch['id']}/cancel", headers=api.as_("viewer"))
        assert viewer.status_code == 403
        response = api.client.post(f"/api/v1/batches/{batch['id']}/cancel", headers=api.as_("operator"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["state"], body["processed"], body["failed"]) == ("done", 3, 3)
        assert {e["error"] for e in body["errors"]} == {"cancelled by operator"}
        missing = api.client.post(f"/api/v1/batches/{'0' * 32}/cancel", headers=api.as_("operator"))
        assert missing.status_code == 404
    finally:
        worker.start()


# ---- 2. refused zip entries are bounded ----------------------------------------------------------------


def test_a_flood_of_refused_zip_entries_is_counted_and_only_sampled(api: Api) -> None:
    flood = build_zip([(f"note-{i}.txt", b"") for i in range(3000)])
    batch = upload(api, [(f"flood-{n}.zip", flood) for n in range(3)] + [("ok.jpg", plain_jpeg(shade=40))])
    assert batch["rejected_total"] == 9000
    assert len(batch["rejected"]) == Limits().rejected_sample
    headers = api.as_("operator")
    shown = api.client.get(f"/api/v1/batches/{batch['id']}", headers=headers)
    assert len(shown.content) < 50_000, "the refused entries are a sample, not a copy of the archive's directory"
    listed = api.client.get("/api/v1/batches", headers=headers).json()
    assert [b["rejected_total"] for b in listed["items"] if b["id"] == batch["id"]] == [9000]


def test_archive_entries_are_bounded_per_request(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    archive.write_bytes(build_zip([(f"{i}.txt", b"") for i in range(6)]))
    folder = BatchFolder(tmp_path / "batch", Limits(max_request_entries=10))
    folder.add_upload("a.zip", archive)
    archive.write_bytes(build_zip([(f"{i}.txt", b"") for i in range(6)]))
    with pytest.raises(UploadError) as refused:
        folder.add_upload("b.zip", archive)
    assert refused.value.status == 413


# ---- 4. batch working files are deleted, and what a request unpacks is bounded ------------------------------


def test_a_finished_batch_leaves_no_working_files(api: Api) -> None:
    archive = build_zip([(f"p{i}.jpg", plain_jpeg(shade=100 + i)) for i in range(3)])
    batch = upload(api, [("three.zip", archive), ("loose.jpg", plain_jpeg(shade=7))], place=PLACE)
    wait_done(api.client, api.as_("operator"), batch["id"], timeout=60)
    folder = batch_dir(api.ctx.settings.data_dir, batch["id"])
    deadline = time.monotonic() + 10  # the folder goes right after the batch is marked done
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folder.exists()


def test_a_request_that_unpacks_past_its_budget_is_refused_whole(api: Api) -> None:
    assert Limits().max_unpacked_bytes <= 1024**3
    defaults = api.app.state.batch_limits
    api.app.state.batch_limits = Limits(max_unpacked_bytes=100_000)
    archive = build_zip([(f"p{i}.jpg", bytes(range(256)) * 200) for i in range(3)])  # 51 KB each
    parts = [("files", ("big.zip", archive, "application/zip"))]
    try:
        response = api.client.post("/api/v1/batches", headers=api.as_("operator"), files=parts, data={"place": PLACE})
    finally:
        api.app.state.batch_limits = defaults
    assert response.status_code == 413, response.text
    assert not any((api.ctx.settings.data_dir / "batches").glob("*/*"))


# ---- 5. an upload's file name is a label, never a path ---------------------------------------------------


@pytest.mark.parametrize("name", ["/etc/hostname", "/etc/passwd", "../../../../etc/hosts"])
def test_a_path_like_upload_name_never_reads_the_servers_file(api: Api, name: str) -> None:
    batch = upload(api, [(name, plain_jpeg(shade=33))], place=PLACE)  # no EXIF time: falls back
    wait_done(api.client, api.as_("operator"), batch["id"], timeout=60)
    [item] = items(api, batch["id"])
    taken_at = datetime.fromisoformat(item["taken_at"])
    server_file = datetime.fromtimestamp(Path("/etc/passwd").stat().st_mtime, UTC)
    assert abs(taken_at - datetime.now(UTC)) < timedelta(hours=1), "the upload time, not the server file's mtime"
    assert abs(taken_at - server_file) > timedelta(minutes=5)
