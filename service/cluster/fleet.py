"""Camera fleets on a Ray cluster: cameras spread over :class:`CameraWorker` actors, kept running by a supervisor.

Each worker actor is one :class:`service.workers.cameras.CameraManager` (readers, motion gate, batched shared
detector, rules, case manager) with its own context, running the cameras it is assigned: the same code as the
single-machine service, with a site in which only its cameras are enabled. :class:`CameraFleet` is the supervisor
in the service process. It places workers across nodes (Ray's SPREAD strategy) and health-checks them; the cameras
of a worker that died (or stopped answering), or whose node died, go at once to the least loaded live workers, and
a replacement worker is started wherever the cluster has room, taking cameras from then on.

No case is lost with a worker: a sighting is ingested in one transaction, so it is in the store or it is not, and
the camera's new worker sees a violation that is still there again after its dwell and updates the open case
(same camera, overlapping box). What a moved camera loses is its rule state (dwell timers, persistence windows).

:class:`CameraFleet` has the camera manager's surface (start, stop, apply, status, camera_status, snapshot), so
the service runs either one as ``ctx.cameras``.
"""

from __future__ import annotations

import itertools
import logging
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from service.cluster.engine import check_shared_store, parse_engine, portable
from service.context import Context, open_context
from service.core.config import Settings
from service.core.site import Camera, SiteConfig
from service.workers.cameras import CameraManager, CameraRunner, CameraStatus, StreamMetrics, find_status
from vision.motion import MotionSettings
from vision.stream.reader import ReaderSettings, StreamState, redact_source

log = logging.getLogger(__name__)


def _offline(camera: Camera) -> CameraStatus:
    """A camera no worker runs now: disabled, or between a dead worker and its new one."""
    return CameraStatus(
        id=camera.id,
        name=camera.name,
        grid=camera.grid,
        source=redact_source(camera.source),
        enabled=camera.enabled,
        state=StreamState.OFFLINE,
        sample_fps=camera.sample_fps,
    )


def only_cameras(site: SiteConfig, camera_ids: set[str]) -> SiteConfig:
    """``site`` with only ``camera_ids`` of its enabled cameras still enabled (the others are another worker's)."""
    cameras = [c.model_copy(update={"enabled": c.enabled and c.id in camera_ids}) for c in site.cameras]
    return site.model_copy(update={"cameras": cameras})


@dataclass(frozen=True)
class WorkerOptions:
    """How each camera worker runs: its resources and its camera manager's settings."""

    cpus: float = 1.0
    gpus: float = 0.0
    reader: ReaderSettings = field(default_factory=ReaderSettings)
    motion: MotionSettings | None = field(default_factory=MotionSettings)  # None: every sampled frame is detected
    batch_size: int = 8


@dataclass(frozen=True)
class WorkerInfo:
    """A worker's answer to a health check: where it runs and the cameras it runs."""

    node_id: str
    cameras: tuple[str, ...]


class CameraWorker:
    """A Ray actor running some of the site's cameras with its own context (store, evidence, detector)."""

    def __init__(self, settings: Settings, options: WorkerOptions) -> None:
        import ray

        self._stack = ExitStack()
        self.ctx: Context = self._stack.enter_context(open_context(settings))
        self.node_id = ray.get_runtime_context().get_node_id()
        self.assigned: tuple[str, ...] = ()
        self.cameras = CameraManager(
            only_cameras(self.ctx.site, set()),
            lambda: self.ctx.detector,  # loaded on the detection thread with the first frame
            self.ctx.manager,
            reader=options.reader,
            motion=options.motion,
            batch_size=options.batch_size,
            walls=self.ctx.walls,
        )
        self.cameras.start()

    def assign(self, site: SiteConfig, camera_ids: list[str]) -> None:
        """Run exactly ``camera_ids`` of ``site`` (the store must already hold the site's cameras). ``site`` becomes
        this worker's current site: its case manager and placements see the service's changes, not the start-up
        file."""
        self.ctx.sites.replace(site)
        self.cameras.apply(only_cameras(site, set(camera_ids)))
        self.assigned = tuple(sorted(camera_ids))

    def ping(self) -> WorkerInfo:
        return WorkerInfo(self.node_id, self.assigned)

    def status(self) -> list[CameraStatus]:
        """The status of this worker's cameras."""
        return [s for s in self.cameras.status() if s.id in self.assigned]

    def snapshot(self, camera_id: str) -> bytes | None:
        return self.cameras.snapshot(camera_id)

    def stop(self) -> None:
        self.cameras.stop()
        self._stack.close()


@dataclass
class _Worker:
    handle: Any  # ray.actor.ActorHandle of a CameraWorker
    info: WorkerInfo | None = None  # None until its first answer: it gets cameras only then
    misses: int = 0


class CameraFleet:
    """The supervisor: assigns the site's enabled cameras to ``workers`` camera actors and keeps them assigned.

    Args:
        settings: the applied settings of the service's context (``ctx.settings``): every worker opens the same
            store, evidence storage, model and site.
        site: the site whose enabled cameras run.
        workers: camera actors to keep alive.
        options: resources and camera-manager settings of each worker.
        check_interval_s: time between health checks.
        ping_timeout_s: a worker answering no health check within this long ``max_misses`` times in a row is
            taken for dead (hung, or its node cut off) and replaced.
    """

    def __init__(
        self,
        settings: Settings,
        site: SiteConfig,
        *,
        workers: int = 2,
        options: WorkerOptions | None = None,
        check_interval_s: float = 2.0,
        ping_timeout_s: float = 5.0,
        max_misses: int = 3,
    ) -> None:
        if workers < 1 or check_interval_s <= 0 or ping_timeout_s <= 0 or max_misses < 1:
            raise ValueError("workers and max_misses must be at least 1, intervals and timeouts positive")
        self.settings, self.site, self.size = settings, site, workers
        self.options = options or WorkerOptions()
        self.check_interval_s, self.ping_timeout_s, self.max_misses = check_interval_s, ping_timeout_s, max_misses
        self._workers: dict[str, _Worker] = {}
        self._owner: dict[str, str] = {}  # camera id -> worker name
        self._names = itertools.count(1)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_context(cls, ctx: Context, **kwargs: Any) -> CameraFleet:
        """A fleet for the service's context: its applied settings and site."""
        return cls(portable(ctx.settings), ctx.site, **kwargs)

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers, wait for them, assign the cameras and start health-checking."""
        if self._thread is not None:
            raise RuntimeError("camera fleet already started")
        with self._lock:
            for _ in range(self.size):
                self._spawn()
        self.check(timeout_s=120.0)  # the first round waits for the workers to open their contexts
        self._thread = threading.Thread(target=self._supervise, name="camera-fleet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising, stop every worker's cameras and end the actors."""
        import ray

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            workers, self._workers, self._owner = list(self._workers.values()), {}, {}
        stops = [w.handle.stop.remote() for w in workers]
        ray.wait(stops, num_returns=len(stops), timeout=30.0)
        for worker in workers:
            ray.kill(worker.handle)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _supervise(self) -> None:
        while not self._stop.wait(self.check_interval_s):
            try:
                self.check()
            except Exception:  # the supervisor must outlive any one bad round (a cluster hiccup)
                log.exception("camera fleet health check failed")

    def _spawn(self) -> str:
        import ray

        name = f"camera-worker-{next(self._names)}"
        actor = ray.remote(CameraWorker).options(
            name=name,
            num_cpus=self.options.cpus,
            num_gpus=self.options.gpus,
            scheduling_strategy="SPREAD",  # across nodes: one node's loss takes as few cameras as possible
            max_restarts=0,  # the supervisor replaces dead workers and moves their cameras itself
        )
        self._workers[name] = _Worker(actor.remote(self.settings, self.options))
        return name

    # ---- supervision -----------------------------------------------------------------------------------

    def check(self, timeout_s: float | None = None) -> dict[str, str]:
        """One health round: replace dead workers, give every camera without a live worker to one.

        Returns the cameras (re)assigned in this round, with their new workers.
        """
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        with self._lock:
            pending = {name: w.handle.ping.remote() for name, w in self._workers.items()}
        refs = list(pending.values())
        ray.wait(refs, num_returns=len(refs), timeout=timeout_s or self.ping_timeout_s)
        with self._lock:
            for name, ref in pending.items():
                worker = self._workers.get(name)
                if worker is None:
                    continue
                try:
                    info: WorkerInfo = ray.get(ref, timeout=0)
                except RayActorError as exc:
                    self._replace(name, f"died: {exc}")
                    continue
                except GetTimeoutError:
                    worker.misses += 1
                    if worker.info is not None and worker.misses >= self.max_misses:
                        ray.kill(worker.handle)
                        self._replace(name, f"no answer to {worker.misses} health checks")
                    continue
                worker.info, worker.misses = info, 0
            return self._assign_orphans()

    def _replace(self, name: str, why: str) -> None:
        moved = self._orphan(name)
        info = self._workers.pop(name).info
        node = info.node_id if info is not None else "not placed yet"
        log.warning("camera worker %s (node %s) %s; its cameras %s move to live workers", name, node, why, moved)
        self._spawn()

    def _orphan(self, name: str) -> list[str]:
        cameras = self._cameras_of(name)
        for camera in cameras:
            del self._owner[camera]
        return cameras

    def _assign_orphans(self) -> dict[str, str]:
        """Give each enabled camera without a worker to the live worker with the fewest, and tell the changed
        workers. Workers that never answered yet get none."""
        live = [name for name, w in self._workers.items() if w.info is not None]
        wanted = [c.id for c in self.site.cameras if c.enabled]
        for camera in list(self._owner):
            if camera not in wanted:
                del self._owner[camera]
        if not live:
            return {}
        moved: dict[str, str] = {}
        for camera in wanted:
            if camera not in self._owner:
                load = {name: 0 for name in live}
                for owner in self._owner.values():
                    load[owner] = load.get(owner, 0) + 1
                self._owner[camera] = moved[camera] = min(live, key=lambda n: (load[n], n))
        self._send({self._owner[c] for c in moved} | {n for n in live if set(self._cameras_of(n)) != self._told(n)})
        return moved

    def _cameras_of(self, name: str) -> list[str]:
        return sorted(c for c, owner in self._owner.items() if owner == name)

    def _told(self, name: str) -> set[str]:
        info = self._workers[name].info
        return set(info.cameras) if info is not None else set()

    def _send(self, names: set[str]) -> None:
        """Tell ``names`` their cameras (one round trip each, in parallel); a failure shows at the next check."""
        import ray

        calls = {name: self._workers[name].handle.assign.remote(self.site, self._cameras_of(name)) for name in names}
        ray.wait(list(calls.values()), num_returns=len(calls), timeout=self.ping_timeout_s)
        for name in names:
            info = self._workers[name].info
            if info is not None:
                self._workers[name].info = WorkerInfo(info.node_id, tuple(self._cameras_of(name)))

    # ---- the camera manager's surface ------------------------------------------------------------------

    def apply(self, site: SiteConfig) -> None:
        """Run the cameras of ``site``: new ones go to the least loaded workers, removed ones stop, and every
        worker gets the new configuration (zones, sources, rules)."""
        with self._lock:
            self.site = site
            self._assign_orphans()
            self._send({name for name, w in self._workers.items() if w.info is not None})

    def assignment(self) -> dict[str, str]:
        """Camera id -> the name of the worker running it."""
        with self._lock:
            return dict(self._owner)

    def workers(self) -> dict[str, Any]:
        """Worker name -> actor handle, for operations and tests."""
        with self._lock:
            return {name: w.handle for name, w in self._workers.items()}

    def _owner_handle(self, camera_id: str) -> Any:
        with self._lock:
            if not any(c.id == camera_id for c in self.site.cameras):
                raise KeyError(camera_id)
            owner = self._owner.get(camera_id)
            return self._workers[owner].handle if owner is not None else None

    def status(self) -> list[CameraStatus]:
        """Every camera of the site in site order: from its worker, offline while it has none or it is disabled."""
        import ray
        from ray.exceptions import RayActorError

        with self._lock:
            site, handles = self.site, [w.handle for w in self._workers.values() if w.info is not None]
        calls = [h.status.remote() for h in handles]
        ready, _ = ray.wait(calls, num_returns=len(calls), timeout=self.ping_timeout_s)
        known: dict[str, CameraStatus] = {}
        for ref in ready:
            try:
                known.update((s.id, s) for s in ray.get(ref))
            except RayActorError:
                continue  # a dead worker: its cameras show offline until the next check moves them
        return [known.get(c.id) or _offline(c) for c in site.cameras]

    def camera_status(self, camera_id: str) -> CameraStatus:
        """One camera's status; KeyError for a camera the site does not have."""
        return find_status(self.status(), camera_id)

    def snapshot(self, camera_id: str) -> bytes | None:
        """The camera's latest frame from its worker (None when it has none); KeyError for an unknown camera."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        handle = self._owner_handle(camera_id)
        if handle is None:
            return None
        try:
            data: bytes | None = ray.get(handle.snapshot.remote(camera_id), timeout=self.ping_timeout_s)
        except (RayActorError, GetTimeoutError):
            return None
        return data


def camera_runner(ctx: Context, metrics: StreamMetrics | None = None) -> CameraRunner:
    """What runs the service's cameras: a :class:`CameraManager` in this process (``GRIDWATCH_CLUSTER=local``, the
    default), else a :class:`CameraFleet` on the cluster it names (``serve --cluster``). Not started yet.

    The fleet's actors keep their own metrics; the service's ``metrics`` count only cameras run in this process.
    """
    engine = parse_engine(ctx.settings.cluster)
    if engine.is_local:
        return CameraManager(ctx.site, lambda: ctx.detector, ctx.manager, metrics=metrics, walls=ctx.walls)
    engine.connect()
    check_shared_store(ctx.store_url, engine.nodes())
    settings = ctx.settings
    options = WorkerOptions(cpus=settings.cluster_cpus_per_worker, gpus=settings.cluster_gpus_per_worker)
    return CameraFleet.for_context(ctx, workers=settings.cluster_camera_workers, options=options)
