"""Faults injected into a running GridWatch, and what it must make of them.

- ``gridwatch serve`` (a real child process) killed with SIGKILL in the middle of a photo batch and of a camera
  stream, then started again: every accepted photo is processed exactly once, no case is lost or duplicated.
- A camera that drops the connection, stalls with the connection open, or sends garbage frames: the reader
  reconnects and frames flow again; the detection loop never stops.
- The database (PostgreSQL, behind a TCP proxy the test stops and starts) unavailable for a while: requests get a
  clean 503 with Retry-After, the process stays up, and when the database is back requests work and the batch
  that was running finishes, each photo once.
- The disk full while evidence is written (a tiny tmpfs mounted over the evidence folder, root only): the handling
  photo is a 503, the batch photo stays pending and is retried, no partial evidence file is left; when space
  comes back the batch finishes. Without root, the same write under ``RLIMIT_FSIZE`` in a child process shows
  that a failed write leaves no file behind.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from service.cases.matching import MatchSettings
from service.core.site import Camera, Grid, SiteConfig, Unit, Zone, dump_site
from service.store.db import Store, open_store
from service.store.evidence import EvidenceStore
from service.store.models import Case, ItemState, Observation, PhotoBatch, PhotoBatchItem
from tests.conftest import ROOT
from tests.db_fixtures import BACKENDS, throwaway_pg_database
from tests.hostile_inputs import GARBAGE, GOOD, HostileCamera, clip_jpegs
from tests.service_process import ServiceProcess, free_port
from tests.stream_fixtures import CLIP, wait_for
from tests.test_batches import BATCH_SITE, PLACE, photo_variants
from vision.boxes import box_iou
from vision.rules.config import ParkingRule, RulesConfig
from vision.stream.reader import ReaderSettings, StreamReader, StreamState

pytest_plugins = ["tests.db_fixtures"]

BATCHES = "/api/v1/batches"


def _zip(photos: list[bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i, data in enumerate(photos):
            zf.writestr(f"patrol/{i:03d}.jpg", data)
    return buf.getvalue()


def _upload(service: ServiceProcess, headers: dict[str, str], photos: list[bytes]) -> str:
    files = {"files": ("patrol.zip", _zip(photos), "application/zip")}
    response = httpx.post(service.url + BATCHES, headers=headers, files=files, data={"place": PLACE}, timeout=120)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _batch(service: ServiceProcess, headers: dict[str, str], batch_id: str) -> dict[str, Any]:
    response = httpx.get(f"{service.url}{BATCHES}/{batch_id}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _wait_processed(service: ServiceProcess, headers: dict[str, str], batch_id: str, n: int, timeout: float) -> None:
    wait_for(lambda: _batch(service, headers, batch_id)["processed"] >= n, timeout, f"{n} photos processed", 0.05)


def assert_exactly_once(store: Store, batch_id: str, photos: int) -> None:
    """Every photo of the batch done once; every sighting one observation; one case per violation at the place."""
    with store.session() as s:
        batch = s.get_one(PhotoBatch, batch_id)
        rows = list(s.scalars(select(PhotoBatchItem).where(PhotoBatchItem.batch_id == batch_id)))
        observations = s.scalar(select(func.count()).select_from(Observation)) or 0
        cases = list(s.scalars(select(Case)))
    assert batch.state == "done" and batch.processed == batch.total == photos and batch.failed == 0
    assert len(rows) == photos and all(r.state == ItemState.DONE for r in rows)
    sightings = sum(len(r.sightings) for r in rows)
    assert sightings == observations > 0, "every sighting ingested exactly once"
    assert batch.opened + batch.updated + batch.recurred + batch.duplicate == sightings
    assert len(cases) == len({c.violation for c in cases}) == batch.opened, "one case per violation at the place"


def _site(root: Path, site: SiteConfig) -> dict[str, str]:
    path = root / "site.yaml"
    dump_site(site, path)
    return {"GRIDWATCH_SITE": str(path), "GRIDWATCH_THREADS": "2"}


@contextmanager
def _store_url(backend: str, root: Path) -> Iterator[str]:
    if backend == "postgresql":
        with throwaway_pg_database() as url:
            yield url
    else:
        yield f"sqlite:///{root / 'data' / 'gridwatch.db'}"


# ---- kill -9 mid-batch ----------------------------------------------------------------------------------


@pytest.mark.reliability
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_of_serve_mid_batch_then_restart_processes_every_photo_once(backend: str, tmp_path: Path) -> None:
    photos = photo_variants(16)
    with _store_url(backend, tmp_path) as url:
        env = _site(tmp_path, BATCH_SITE) | {"GRIDWATCH_DATABASE_URL": url}
        service = ServiceProcess(tmp_path, env)
        service.start()
        try:
            admin = service.login()
            batch_id = _upload(service, admin, photos)
            _wait_processed(service, admin, batch_id, 3, 240)
            service.kill9()
            store = open_store(url, migrate=False)
            with store.session() as s:
                before = s.get_one(PhotoBatch, batch_id).processed
            assert 3 <= before < len(photos), "killed mid-way"

            service.start()  # the worker takes up the pending photos by itself
            admin = service.login()
            wait_for(lambda: _batch(service, admin, batch_id)["state"] == "done", 300, "the batch to finish", 0.2)
            assert_exactly_once(store, batch_id, len(photos))
            store.dispose()
            final = _batch(service, admin, batch_id)
            print(f"[{backend}] killed after {before}/{len(photos)} photos; after the restart: {final}")
        finally:
            service.stop()
    assert "unhandled error" not in service.logs()


def _slow_body(photos: list[bytes], boundary: str, sent: threading.Event) -> Iterator[bytes]:
    """A multipart body that sends its first photo, then dribbles: the upload is in flight when the kill lands."""
    for i, data in enumerate(photos):
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="p{i}.jpg"\r\n\r\n'
        yield head.encode() + data + b"\r\n"
        sent.set()
        time.sleep(1.0)
    yield f"--{boundary}--\r\n".encode()


@pytest.mark.reliability
def test_kill_9_mid_upload_leaves_no_batch_and_the_restart_sweeps_its_folder(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path, _site(tmp_path, BATCH_SITE))
    service.start()
    try:
        admin = service.login()
        sent = threading.Event()
        headers = admin | {"content-type": "multipart/form-data; boundary=gw"}
        body = _slow_body(photo_variants(30), "gw", sent)

        def upload() -> None:
            with suppress(httpx.HTTPError):  # the server dies under it
                httpx.post(service.url + BATCHES, headers=headers, content=body, timeout=120)

        client = threading.Thread(target=upload, daemon=True)
        client.start()
        batches = service.data_dir / "batches"
        wait_for(lambda: sent.is_set() and any(batches.glob("*/*")), 60, "the upload to reach the disk", 0.05)
        service.kill9()
        client.join(30)
        cut_off = [p for p in batches.iterdir() if p.is_dir()]
        assert cut_off, "the cut-off upload left its folder"

        service.start()
        admin = service.login()
        assert [p for p in batches.iterdir() if p.is_dir()] == [], "the restart swept the folder"
        listed = httpx.get(service.url + BATCHES, headers=admin).json()
        assert listed["total"] == 0, "a cut-off upload is no batch: it was never accepted (no 202)"
    finally:
        service.stop()
    print(f"swept after kill -9 mid-upload: {[p.name for p in cut_off]}")
    assert "never became a batch" in service.logs()


# ---- kill -9 mid-stream ---------------------------------------------------------------------------------

WHOLE = Zone(id="whole", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])


def camera_site(url: str) -> SiteConfig:
    """One camera over the car park, the whole view a no-parking zone, a short dwell: parked cars become cases."""
    camera = Camera(id="carpark", name="Car park", source=url, grid="g", sample_fps=3.0, zones=[WHOLE])
    return SiteConfig(
        units=[Unit(id="u", name="Unit")],
        grids=[Grid(id="g", name="Grid", unit="u")],
        cameras=[camera],
        rules=RulesConfig(parking=ParkingRule(dwell_s=1.0, iou=0.1, gap_s=5.0)),
    )


def _camera_cases(store: Store) -> dict[int, tuple[str, str, list[float], int]]:
    """Case id -> (state, violation, box, observations)."""
    with store.session() as s:
        rows = s.execute(select(Observation.case_id, func.count()).group_by(Observation.case_id))
        counts = {case_id: n for case_id, n in rows}
        return {c.id: (c.state, c.violation, list(c.bbox), counts.get(c.id, 0)) for c in s.scalars(select(Case))}


def assert_no_duplicate_open_cases(cases: dict[int, tuple[str, str, list[float], int]]) -> None:
    """No two open cases of one violation whose boxes the case manager would call the same place."""
    threshold = MatchSettings().iou
    open_cases = [(i, v, b) for i, (state, v, b, _) in cases.items() if state == "pending_review"]
    for n, (a, va, ba) in enumerate(open_cases):
        for b, vb, bb in open_cases[n + 1 :]:
            if va == vb:
                iou = float(box_iou(np.array([ba]), np.array([bb]))[0, 0])
                assert iou < threshold, f"cases {a} and {b} are one {va} (IoU {iou:.2f})"


@pytest.mark.reliability
def test_kill_9_of_serve_mid_stream_then_restart_loses_and_duplicates_no_case(tmp_path: Path) -> None:
    # 17.5-19.1 s of the clip, looped: a car drives up and stops (as tests/test_camera_manager.py's car_cut)
    with HostileCamera(clip_jpegs(CLIP, 20, start_s=17.5), [[]]) as camera:
        service = ServiceProcess(tmp_path, _site(tmp_path, camera_site(camera.url)))
        store: Store | None = None
        service.start()
        try:
            store = open_store(f"sqlite:///{service.data_dir / 'gridwatch.db'}", migrate=False)
            opened = store
            wait_for(lambda: len(_camera_cases(opened)) >= 1, 240, "a case from the camera", 0.5)
            time.sleep(3)  # cases being updated by later frames when the kill lands
            service.kill9()
            before = _camera_cases(opened)

            service.start()
            admin = service.login()

            def status() -> dict[str, Any]:
                response = httpx.get(f"{service.url}/api/v1/cameras/carpark/status", headers=admin)
                return dict(response.json())

            # The restarted worker sees the parked car again and its rules judge it a violation once more: what the
            # case manager makes of that (an update of the open case, or a duplicate of the same frame) is checked.
            wait_for(lambda: status()["violations"] >= 1, 240, "a violation judged after the restart", 0.5)
            wait_for(lambda: status()["frames_detected"] >= 30, 240, "30 frames detected after the restart", 0.5)
            after = _camera_cases(opened)
        finally:
            service.stop()
            if store is not None:
                store.dispose()
    print(f"cases before the kill {before}; after the restart {after}")
    lost = [i for i in before if i not in after]
    assert not lost, f"cases lost: {lost}"
    shrunk = [i for i, (_, _, _, n) in before.items() if after[i][3] < n]
    assert not shrunk, f"observations lost from cases {shrunk}"
    assert_no_duplicate_open_cases(after)
    assert "unhandled error" not in service.logs()


# ---- a misbehaving camera -------------------------------------------------------------------------------

FAST = ReaderSettings(open_timeout_s=5.0, read_timeout_s=2.0, stall_s=3.0, backoff_initial_s=0.2, backoff_max_s=1.0)
CAMERA_FAULTS: dict[str, list[list[tuple[str, float]]]] = {  # a script per connection; the last one repeats
    "disconnects": [[(GOOD, 8), ("close", 0)], [(GOOD, 8), ("close", 0)], []],
    "stalls": [[(GOOD, 8), ("stall", 30)], []],
    "garbage-frames": [[(GOOD, 2), (GARBAGE, 300)], []],
    "garbage-from-the-start": [[(GARBAGE, 300)], []],
}


@pytest.mark.parametrize("fault", CAMERA_FAULTS, ids=str)
def test_misbehaving_camera_is_reconnected_and_frames_flow_again(fault: str) -> None:
    with HostileCamera(clip_jpegs(CLIP), CAMERA_FAULTS[fault]) as camera:
        reader = StreamReader(camera.url, 4.0, settings=FAST, name=fault)
        reader.start()
        try:

            def sampled() -> int:
                frame = reader.latest()
                return frame.seq if frame else 0

            if fault != "garbage-from-the-start":
                wait_for(lambda: sampled() >= 2, 30, "first frames")
            wait_for(lambda: reader.status().reconnects >= 1, 40, "the reader to give up on the bad session")
            status = reader.status()
            assert status.last_error, status
            first_session = sampled()
            t0 = time.monotonic()
            wait_for(
                lambda: camera.connections >= 2 and sampled() >= first_session + 4, 60, "frames after reconnecting"
            )
            assert reader.status().state is StreamState.ONLINE and reader.running
            print(
                f"{fault}: {status.last_error!r}, frames again {time.monotonic() - t0:.1f} s later: {reader.status()}"
            )
        finally:
            assert reader.stop()


# ---- the database unavailable ---------------------------------------------------------------------------


class TcpProxy:
    """A TCP forwarder to ``target``; :meth:`down` closes the listener and cuts every connection (new ones are
    refused, as by a database host that went away), :meth:`up` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            # shutdown first: close() alone does not wake a thread blocked in accept(), which would go on
            # accepting connections on the "closed" socket
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # shut down by down()
            if self._listener is not listener:  # accepted while going down
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@pytest.mark.reliability
def test_database_outage_gives_503_and_work_resumes(tmp_path: Path) -> None:
    with throwaway_pg_database() as direct:
        parsed = make_url(direct)
        proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        proxy.up()
        proxied = parsed.set(port=proxy.port).render_as_string(hide_password=False)
        service = ServiceProcess(tmp_path, _site(tmp_path, BATCH_SITE) | {"GRIDWATCH_DATABASE_URL": proxied})
        service.start()
        try:
            admin = service.login()
            photos = photo_variants(24)
            batch_id = _upload(service, admin, photos)
            _wait_processed(service, admin, batch_id, 2, 240)

            proxy.down()
            outage = time.monotonic()
            cases = httpx.get(f"{service.url}/api/v1/cases", headers=admin, timeout=30)
            assert cases.status_code == 503, cases.text
            assert cases.json()["code"] == "database_unavailable" and int(cases.headers["retry-after"]) > 0
            upload = httpx.post(service.url + BATCHES, headers=admin, files={"files": ("a.jpg", photos[0])}, timeout=30)
            assert upload.status_code == 503, upload.text
            assert httpx.get(f"{service.url}/healthz").status_code == 200  # the process is up
            ready = httpx.get(f"{service.url}/readyz", timeout=30)
            assert ready.status_code == 503 and ready.json()["database"].startswith("unreachable")
            time.sleep(max(0.0, 8 - (time.monotonic() - outage)))  # the worker meets the outage too
            proxy.up()
            back = time.monotonic()
            wait_for(
                lambda: httpx.get(f"{service.url}/api/v1/cases", headers=admin, timeout=30).status_code == 200,
                30,
                "requests to work again",
                0.5,
            )
            recovered = time.monotonic() - back
            wait_for(lambda: _batch(service, admin, batch_id)["state"] == "done", 300, "the batch to finish", 0.5)
            print(f"outage {back - outage:.1f} s; requests worked again {recovered:.1f} s after; batch done")
            store = open_store(direct, migrate=False)
            assert_exactly_once(store, batch_id, len(photos))
            store.dispose()
        finally:
            service.stop()
            proxy.down()
    logs = service.logs()
    assert "database unavailable" in logs and "unhandled error" not in logs


# ---- the disk full --------------------------------------------------------------------------------------


@contextmanager
def tiny_tmpfs(path: Path, size: str = "16m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (root only; skips otherwise), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; test_evidence_write_over_rlimit_fsize covers the write itself")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to the last byte; returns the filler file (delete it to free the space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for chunk in (b"\0" * 65536, b"\0"):  # big writes, then byte by byte into the last page
            with suppress(OSError):
                while os.write(fd, chunk):
                    pass
    finally:
        os.close(fd)
    return filler


def _partial(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".tmp-")]


@pytest.mark.reliability
def test_disk_full_while_writing_evidence_keeps_photos_pending_and_leaves_no_partial_file(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path, _site(tmp_path, BATCH_SITE))
    evidence = service.data_dir / "evidence"
    with tiny_tmpfs(evidence):
        service.start()
        try:
            admin = service.login()
            first = _upload(service, admin, photo_variants(2))
            wait_for(lambda: _batch(service, admin, first)["state"] == "done", 120, "the first batch", 0.2)
            case_id = _batch(service, admin, first)["cases"]["opened"][0]
            for action, body in (("file", {}), ("dispatch", {"unit_id": "u-west"})):
                r = httpx.post(f"{service.url}/api/v1/cases/{case_id}/actions/{action}", headers=admin, json=body)
                assert r.status_code == 200, r.text

            filler = fill(evidence)
            photo = {"photo": ("fix.jpg", photo_variants(30)[-1], "image/jpeg")}
            handled = httpx.post(f"{service.url}/api/v1/cases/{case_id}/handle", headers=admin, files=photo)
            assert handled.status_code == 503 and handled.json()["code"] == "storage_full", handled.text
            state = httpx.get(f"{service.url}/api/v1/cases/{case_id}", headers=admin).json()["state"]
            assert state == "dispatched", "nothing of the refused handling was kept"

            photos = photo_variants(24)[-6:]
            second = _upload(service, admin, photos)
            time.sleep(8)  # the worker meets the full disk at least once
            stuck = _batch(service, admin, second)
            assert stuck["state"] != "done" and stuck["failed"] == 0, stuck
            assert not _partial(evidence), "a partial evidence file was left behind"

            print(f"disk full: handle -> {handled.status_code}; batch after 8 s: {stuck}")
            filler.unlink()  # space again: the worker's next try goes through
            wait_for(lambda: _batch(service, admin, second)["state"] == "done", 120, "the batch after space came back")
            done = _batch(service, admin, second)
            assert done["processed"] == len(photos) and done["failed"] == 0
            handled = httpx.post(f"{service.url}/api/v1/cases/{case_id}/handle", headers=admin, files=photo)
            assert handled.status_code == 200, handled.text
            assert not _partial(evidence)
        finally:
            service.stop()
    logs = service.logs()
    assert "No space left on device" in logs and "unhandled error" not in logs


RLIMIT_CHILD = """
import resource, signal, sys
from pathlib import Path
from service.store.evidence import EvidenceStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
try:
    EvidenceStore(Path(sys.argv[1])).put(b"\\xff" * (1024 * 1024), "jpg")
except OSError as exc:
    print(f"refused: {exc}")
"""


def test_evidence_write_over_rlimit_fsize_fails_cleanly_and_leaves_no_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RLIMIT_CHILD, str(tmp_path / "evidence")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("refused: [Errno 27]"), done.stdout + done.stderr
    assert [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == [], "no file, partial or whole"
    small = EvidenceStore(tmp_path / "evidence").put(b"\xff" * 1024, "jpg")  # the store still works
    assert (tmp_path / "evidence" / small.key).stat().st_size == 1024
