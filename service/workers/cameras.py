"""The camera worker: one reader thread per enabled camera and one detection loop shared by all of them.

Readers sample their camera, gate out unchanged frames and keep the latest one (:mod:`vision.stream.reader`). The
detection loop gathers the waiting frames of every camera into batches for the one shared detector, steps the rule
engine per camera, and puts each frame's violation and clear events on a bounded queue. The case-writer thread takes
them from there to the case manager with their evidence (the frame as JPEG: the original, ``source_sha256`` is its
hash; the annotated frame and the crop around the box), so JPEG encoding, evidence storage and the database never
hold up detection. A full queue makes the detection loop wait (the readers meanwhile replace waiting frames with
fresher ones, as when the detector is slow): events are never dropped, and :meth:`CameraManager.stop` writes the
ones still queued before it returns.

:meth:`CameraManager.apply` changes the cameras of a running manager: new cameras start, removed or disabled ones
stop, a changed source or sampling rate restarts the reader, changed zones reset only that camera's rule state.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from domain.errors import CaseError
from service.cases.manager import CaseManager
from service.cases.phones import PosterReading, attach_readings, read_poster
from service.cases.placement import Placement, locate
from service.cases.sightings import IngestResult, Outcome
from service.core.site import Camera, SiteConfig
from service.evidence_render import Mark, annotate, encode_jpeg, fit, sighting_evidence, violation_label
from service.model_version import model_version
from service.store.evidence import EvidenceInput, sha256_hex
from service.store.models import EvidenceKind
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import DecodedImage
from vision.motion import MotionGate, MotionSettings
from vision.pipeline import detect_frames, join_posters
from vision.privacy import blur_private
from vision.rules.engine import RuleEngine, RuleOutput
from vision.stream.reader import Frame, ReaderSettings, StreamReader, StreamState, redact_source
from vision.stream.still import grab_still
from vision.textfinder import TextBlock
from vision.walltext import WallText

log = logging.getLogger(__name__)

SNAPSHOT_MAX_SIDE = 1280  # a live view, not evidence: smaller is faster to send and blur

FrameObserver = Callable[[str, Frame, Detections], None]
"""Called by the detection loop after a camera's frame went through the rules: camera id, frame, detections."""


class StreamMetrics(Protocol):
    """The Prometheus metrics the worker updates (``service.api.metrics.Metrics`` has them)."""

    frames_read: Counter  # labels: camera
    frames_dropped: Counter  # labels: camera; back-pressure drops and motion-gated frames
    inference_ms: Histogram
    queue_depth: Gauge  # labels: camera
    cases_opened: Counter  # labels: violation


class CameraRunner(Protocol):
    """What the service needs from whatever runs its cameras: a :class:`CameraManager` in this process, or a
    :class:`service.cluster.fleet.CameraFleet` of Ray actors."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def apply(self, site: SiteConfig) -> None: ...

    def status(self) -> list[CameraStatus]: ...

    def camera_status(self, camera_id: str) -> CameraStatus: ...

    def snapshot(self, camera_id: str) -> bytes | None: ...


class CameraStatus(BaseModel):
    """How a camera is doing, as the API shows it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    grid: str
    source: str  # password of a URL replaced by ***
    enabled: bool
    state: StreamState
    sample_fps: float  # configured
    fps: float = 0.0  # measured: sampled frames per second
    last_frame_at: datetime | None = None
    width: int = 0
    height: int = 0
    frames_read: int = 0
    frames_skipped: int = 0
    frames_rejected: int = 0
    frames_gated: int = 0
    frames_dropped: int = 0
    frames_detected: int = 0
    violations: int = 0  # violation events reported to the case manager
    reconnects: int = 0
    last_error: str | None = None


def render_snapshot(image: npt.NDArray[np.uint8], detections: Detections | None) -> bytes:
    """JPEG bytes of a camera's (H, W, 3) BGR frame for a live view: heads and plates of ``detections`` (in the
    frame's pixels) pixelated, all of it when None (nothing known about the frame), long side at most
    ``SNAPSHOT_MAX_SIDE``. Every snapshot leaves the worker through this function."""
    return encode_jpeg(fit(blur_private(image, detections), SNAPSHOT_MAX_SIDE))


@dataclass
class _Camera:
    """A running camera: its configuration, reader and zones, and what the detection loop did with it."""

    config: Camera
    reader: StreamReader
    where: Placement  # where its sightings are; ``where.zones`` are its zones
    detected: int = 0
    violations: int = 0
    seen: tuple[Frame, Detections] | None = None  # the latest detected frame and what was found in it
    error: str | None = None  # the latest failure of the detection loop or the case manager for this camera
    published: dict[str, int] = field(default_factory=lambda: {"read": 0, "dropped": 0})  # metric totals sent


@dataclass(frozen=True)
class _Report:
    """One frame's events on their way from the detection loop to the case writer."""

    cam: _Camera
    frame: Frame
    out: RuleOutput
    model_version: str
    texts: tuple[TextBlock, ...] = ()  # the small ads read on the camera's walls, in the frame's pixels


def _keep_reading(reading: PosterReading, seen_at: datetime) -> Callable[[Session, list[IngestResult]], None]:
    """Keep what was read on a flyposting sighting in the transaction that records it."""

    def keep(session: Session, ingested: list[IngestResult]) -> None:
        attach_readings(session, ingested, [reading], seen_at)

    return keep


def find_status(statuses: Iterable[CameraStatus], camera_id: str) -> CameraStatus:
    """The status of ``camera_id`` among ``statuses``; KeyError for a camera the site does not have."""
    for status in statuses:
        if status.id == camera_id:
            return status
    raise KeyError(camera_id)


class CameraManager:
    """Reads every enabled camera of a site and turns what they show into cases.

    Args:
        site: the site; its enabled cameras are read, its rules and calendar time zone apply.
        detector: the shared detector, or a function returning it (called on the detection thread when the first
            frame arrives, so a service can answer while the model loads).
        cases: the case manager receiving violation and clear events.
        metrics: Prometheus metrics to update, if any.
        reader: timeouts, back-off and file looping of every reader.
        motion: motion-gate thresholds; None turns gating off (every sampled frame is detected).
        batch_size: most frames per detector call.
        batch_wait_s: after the first frame is ready, how long to wait for other cameras to fill the batch.
        observer: called for every detected frame (benchmarks, live overlays).
        report_queue: most frames with events waiting for the case writer before the detection loop waits.
        walls: the text finder on the cameras' wall zones (small ads, read once every few minutes), or None.
    """

    def __init__(
        self,
        site: SiteConfig,
        detector: Detector | Callable[[], Detector],
        cases: CaseManager,
        *,
        metrics: StreamMetrics | None = None,
        reader: ReaderSettings | None = None,
        motion: MotionSettings | None = MotionSettings(),  # noqa: B008 (frozen dataclass, shared safely)
        batch_size: int = 8,
        batch_wait_s: float = 0.05,
        observer: FrameObserver | None = None,
        report_queue: int = 64,
        walls: WallText | None = None,
    ) -> None:
        if batch_size < 1 or batch_wait_s < 0:
            raise ValueError(f"batch_size must be >= 1 and batch_wait_s >= 0, got {batch_size}, {batch_wait_s}")
        self._get_detector = detector if callable(detector) and not isinstance(detector, Detector) else None
        self._detector = detector if isinstance(detector, Detector) else None
        self.cases, self.metrics, self.observer = cases, metrics, observer
        self.walls = walls
        self.reader_settings, self.motion = reader or ReaderSettings(), motion
        self.batch_size, self.batch_wait_s = batch_size, batch_wait_s
        self._site = site
        self._engine = RuleEngine(site.rules, {})
        self._cameras: dict[str, _Camera] = {}
        self._lock = threading.Lock()  # cameras, their zones and the rule engine
        self._apply_lock = threading.Lock()  # one apply at a time
        self._notify = threading.Event()  # set by readers when a frame is ready
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reports: queue.Queue[_Report | None] = queue.Queue(maxsize=report_queue)
        self._writer: threading.Thread | None = None
        self._next = 0  # round robin: where the next batch starts among the cameras
        self.apply(site)

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every reader and the detection loop."""
        if self._thread is not None:
            raise RuntimeError("camera manager already started")
        self._thread = threading.Thread(target=self._loop, name="camera-detect", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="camera-cases", daemon=True)
        with self._lock:
            for cam in self._cameras.values():
                cam.reader.start()
        self._writer.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop the detection loop and every reader, write the events still queued, and wait for the threads."""
        self._stop.set()
        self._notify.set()
        if self._thread is not None:
            self._thread.join()
        if self._writer is not None:
            self._reports.put(None)  # after the last event of the stopped loop: the writer drains, then ends
            self._writer.join()
        with self._lock:
            readers = [cam.reader for cam in self._cameras.values()]
        self._stop_readers(readers)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _stop_readers(self, readers: Sequence[StreamReader]) -> None:
        for reader in readers:  # ask all first, then wait: blocked reads time out in parallel
            reader.request_stop()
        for reader in readers:
            if not reader.stop():
                log.warning("camera reader %s did not stop in time", reader.name)

    # ---- configuration ---------------------------------------------------------------------------------

    def _new_reader(self, cam: Camera) -> StreamReader:
        gate = MotionGate(self.motion) if self.motion is not None else None
        # a camera with a sub-stream is watched there; its main stream is opened only for evidence (_evidence_image)
        source = cam.detect_source or cam.source
        return StreamReader(
            source, cam.sample_fps, settings=self.reader_settings, gate=gate, notify=self._notify, name=cam.id
        )

    def apply(self, site: SiteConfig) -> None:
        """Make the running cameras those of ``site``, without stopping the others.

        The store must already hold the site's cameras (``service.store.sites.sync_site``) for their sightings to
        be ingested.
        """
        with self._apply_lock:
            wanted = {c.id: c for c in site.cameras if c.enabled}
            tz = site.calendar.tz
            stopped: list[StreamReader] = []
            with self._lock:
                if site.rules != self._site.rules:
                    self._engine = RuleEngine(site.rules, {})
                for cid, cam in list(self._cameras.items()):
                    new = wanted.get(cid)
                    old = cam.config
                    if new is None or (new.source, new.detect_source, new.sample_fps) != (
                        old.source,
                        old.detect_source,
                        old.sample_fps,
                    ):
                        stopped.append(self._cameras.pop(cid).reader)
                        self._engine.reset(cid)
                        self._engine.zones.pop(cid, None)
                        if self.metrics is not None:
                            self.metrics.queue_depth.labels(camera=cid).set(0)
                for cid, cfg in wanted.items():
                    where = locate(site, camera_id=cid)
                    running = self._cameras.get(cid)
                    if running is None:
                        running = self._cameras[cid] = _Camera(cfg, self._new_reader(cfg), where)
                        if self._thread is not None and not self._stop.is_set():
                            running.reader.start()
                    elif (cfg.zones, tz) != (running.config.zones, self._site.calendar.tz):
                        self._engine.reset(cid)  # dwell and persistence were measured against the old zones
                    running.config, running.where = cfg, where
                    self._engine.zones[cid] = where.zones
                self._site = site
            self._stop_readers(stopped)

    # ---- status ----------------------------------------------------------------------------------------

    def _status(self, cam: _Camera) -> CameraStatus:
        s = cam.reader.status()
        return CameraStatus(
            id=cam.config.id,
            name=cam.config.name,
            grid=cam.config.grid,
            source=redact_source(cam.config.source),
            enabled=True,
            state=s.state,
            sample_fps=cam.config.sample_fps,
            fps=round(s.fps, 3),
            last_frame_at=datetime.fromtimestamp(s.last_frame_at, UTC) if s.last_frame_at is not None else None,
            width=s.width,
            height=s.height,
            frames_read=s.frames_read,
            frames_skipped=s.frames_skipped,
            frames_rejected=s.frames_rejected,
            frames_gated=s.frames_gated,
            frames_dropped=s.frames_dropped,
            frames_detected=cam.detected,
            violations=cam.violations,
            reconnects=s.reconnects,
            last_error=cam.error or s.last_error,
        )

    @staticmethod
    def _disabled(cfg: Camera) -> CameraStatus:
        source = redact_source(cfg.source)
        return CameraStatus(
            id=cfg.id,
            name=cfg.name,
            grid=cfg.grid,
            source=source,
            enabled=False,
            state=StreamState.OFFLINE,
            sample_fps=cfg.sample_fps,
        )

    def status(self) -> list[CameraStatus]:
        """Every camera of the site, in site order; disabled ones offline with ``enabled`` false."""
        with self._lock:
            site, cameras = self._site, dict(self._cameras)
        return [self._status(cameras[c.id]) if c.id in cameras else self._disabled(c) for c in site.cameras]

    def camera_status(self, camera_id: str) -> CameraStatus:
        """One camera's status; KeyError for a camera the site does not have."""
        return find_status(self.status(), camera_id)

    def snapshot(self, camera_id: str) -> bytes | None:
        """The camera's latest detected frame as a privacy-blurred JPEG (:func:`render_snapshot`); before the
        first detection its latest frame, wholly pixelated; None before any frame or when it is not running.
        KeyError for a camera the site does not have.

        A detected frame is at most the motion gate's ``refresh_s`` old, and when it is older nothing has moved
        since; blurring needs that frame's own detections, and the detector is not run again for a live view.
        """
        with self._lock:
            cam = self._cameras.get(camera_id)
            known = cam is not None or any(c.id == camera_id for c in self._site.cameras)
        if not known:
            raise KeyError(camera_id)
        if cam is None:
            return None
        if cam.seen is not None:
            return render_snapshot(cam.seen[0].image, cam.seen[1])
        frame = cam.reader.latest()
        return render_snapshot(frame.image, None) if frame is not None else None

    # ---- the detection loop ----------------------------------------------------------------------------

    def _detector_now(self) -> Detector:
        if self._detector is None:
            assert self._get_detector is not None
            self._detector = self._get_detector()
        return self._detector

    def _loop(self) -> None:
        while not self._stop.is_set():
            batch = self._gather()
            self._publish_metrics()
            if not batch:
                continue
            try:
                self._process(batch)
            except Exception as exc:  # one bad batch (model error, full disk) must not stop every camera
                log.exception("camera detection failed")
                for cam, _ in batch:
                    cam.error = f"detection failed: {exc}"

    def _gather(self) -> list[tuple[_Camera, Frame]]:
        """Wait for a frame, then up to ``batch_wait_s`` for a full batch; take the latest frame of at most
        ``batch_size`` cameras, starting after the last camera served (round robin). Frames left waiting are
        replaced by fresher ones before the next batch, so a slow detector adds no backlog, only drops."""
        if not self._notify.wait(0.5) or self._stop.is_set():
            return []
        deadline = time.monotonic() + self.batch_wait_s
        while True:
            self._notify.clear()
            with self._lock:
                cameras = list(self._cameras.values())
            remaining = deadline - time.monotonic()
            if remaining <= 0 or sum(c.reader.has_frame() for c in cameras) >= self.batch_size:
                break
            self._notify.wait(remaining)
        start = self._next % len(cameras) if cameras else 0
        batch: list[tuple[_Camera, Frame]] = []
        for i in range(len(cameras)):
            cam = cameras[(start + i) % len(cameras)]
            frame = cam.reader.take() if len(batch) < self.batch_size else None
            if frame is not None:
                batch.append((cam, frame))
                self._next = start + i + 1
        if any(c.reader.has_frame() for c in cameras):
            self._notify.set()  # cameras left for the next batch
        return batch

    def _publish_metrics(self) -> None:
        if self.metrics is None:
            return
        with self._lock:
            cameras = list(self._cameras.values())
        for cam in cameras:
            s = cam.reader.status()
            cid = cam.config.id
            totals = {"read": s.frames_read, "dropped": s.frames_dropped + s.frames_gated}
            self.metrics.frames_read.labels(camera=cid).inc(totals["read"] - cam.published["read"])
            self.metrics.frames_dropped.labels(camera=cid).inc(totals["dropped"] - cam.published["dropped"])
            self.metrics.queue_depth.labels(camera=cid).set(int(cam.reader.has_frame()))
            cam.published = totals

    def _process(self, chunk: Sequence[tuple[_Camera, Frame]]) -> None:
        detector = self._detector_now()
        start = time.perf_counter()
        found = detect_frames(detector, [(cam.config.tiles, frame.image) for cam, frame in chunk])
        if self.metrics is not None:
            self.metrics.inference_ms.observe((time.perf_counter() - start) * 1000.0)
        for (cam, frame), det in zip(chunk, found, strict=True):
            h, w = frame.image.shape[:2]
            texts: tuple[TextBlock, ...] = ()
            if self.walls is not None:  # small ads read on its walls, once every few minutes
                texts = self.walls.ads(cam.config.id, frame.image, cam.where.zones, frame.t)
                det = join_posters(det, texts, (w, h))
            with self._lock:
                if self._cameras.get(cam.config.id) is not cam:
                    continue  # removed or restarted while the batch ran
                tz = self._site.calendar.tz
                out = self._engine.step(cam.config.id, datetime.fromtimestamp(frame.t, tz), det, (w, h))
            cam.detected += 1
            cam.seen = (frame, det)
            if out.violations or out.cleared:
                report = _Report(cam, frame, out, model_version(detector), texts)
                self._reports.put(report)  # waits while the queue is full
            if self.observer is not None:
                self.observer(cam.config.id, frame, det)

    # ---- the case writer -------------------------------------------------------------------------------------

    def _write_loop(self) -> None:
        """Take queued frames' events to the case manager, in the order the detection loop found them."""
        while (report := self._reports.get()) is not None:
            try:
                self._report(report)
            except Exception as exc:  # one bad frame (an unexpected store error) must not stop the writer
                log.exception("camera %s: events not recorded", report.cam.config.id)
                report.cam.error = f"events not recorded: {exc}"

    def _evidence_image(self, cam: _Camera, frame: Frame) -> npt.NDArray[np.uint8]:
        """The picture a frame's evidence is made of: the frame itself, or for a camera watched on its sub-stream a
        full-resolution still of its main stream (the sub-stream frame when the main stream cannot be read). Event
        boxes are normalised, so they fit either."""
        if cam.config.detect_source is None:
            return frame.image
        try:
            return grab_still(cam.config.source, self.reader_settings)
        except OSError as exc:
            log.warning("camera %s: evidence from the detect stream: %s", cam.config.id, exc)
            return frame.image

    def _report(self, report: _Report) -> None:
        """Hand one frame's events to the case manager with their evidence."""
        cam, frame, out, version = report.cam, report.frame, report.out, report.model_version
        picture = self._evidence_image(cam, frame)
        original = encode_jpeg(picture)
        sha256 = sha256_hex(original)
        h, w = picture.shape[:2]
        image = DecodedImage(picture, w, h, "JPEG")
        marks = [Mark(e.bbox, violation_label(e.violation, f"{e.confidence:.2f}")) for e in out.violations]
        size = (frame.image.shape[1], frame.image.shape[0])  # the wall text was read on the detect frame
        for i, event in enumerate(out.violations):
            try:
                evidence = sighting_evidence(original, image, marks, i, cam.where.zones)
                reading = read_poster(report.texts, size, event.bbox)
                then = None if reading is None else _keep_reading(reading, event.last_seen)
                [result] = self.cases.ingest_source(cam.where, [(event, evidence)], version, sha256, then)
            except (CaseError, OSError) as exc:  # e.g. a camera added before the site was synced into the store
                cam.error = f"case not recorded: {exc}"
                log.warning("camera %s: %s", cam.config.id, cam.error)
                continue
            cam.violations += 1
            if self.metrics is not None and result.outcome in (Outcome.OPENED, Outcome.RECURRED):
                self.metrics.cases_opened.labels(violation=str(event.violation)).inc()
        for clear in out.cleared:
            after = annotate(
                picture,
                [Mark(clear.bbox, violation_label(clear.violation, "clear", "已清除"))],
                highlight=0,
                zones=cam.where.zones,
            )
            evidence = [
                EvidenceInput(EvidenceKind.ORIGINAL, original, "jpg"),
                EvidenceInput(EvidenceKind.ANNOTATED, encode_jpeg(after), "jpg"),
            ]
            try:
                self.cases.ingest_clear(clear, cam.config.id, evidence)
            except (CaseError, OSError) as exc:
                cam.error = f"clear not recorded: {exc}"
                log.warning("camera %s: %s", cam.config.id, cam.error)
