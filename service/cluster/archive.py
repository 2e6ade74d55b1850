"""Photo archives scanned on a Ray cluster with Ray Data.

The driver lists the archive's photos (:func:`vision.sources.iter_sources`: files, folders, zip members) and
checks where they were taken against the site, exactly as a local scan does. Ray Data then streams the list
through ``map_batches`` over a pool of :class:`PhotoScanner` actors: each opens its own context (store connection
pool, evidence store, detector on its CPU or GPU) once, and runs :func:`service.scan.scan_sources`, the per-photo
work of the local scan, writing cases straight to the shared store. Only each photo's outcome comes back.

A photo's reader (its file path, or its archive and member) travels to the actor, not its bytes: every node must
see the archive under the same path (a shared filesystem), as for Ray Data's own file readers. Ray Data re-runs
the blocks of an actor that dies; re-ingesting a photo is a no-op (outcome duplicate), so no case is doubled.
"""

from __future__ import annotations

import math
import pickle
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.cluster.engine import portable
from service.context import Context, open_context
from service.core.config import Settings
from service.scan import PhotoScan, ScanProgress, ScanReport, Where, resolve_where, scan_sources
from vision.sources import Source, iter_sources

BLOCKS_PER_ACTOR = 4  # small blocks keep every actor busy to the end of the archive


class PhotoScanner:
    """A Ray Data actor: one context for its lifetime, one ``scan_sources`` run per batch of photos."""

    def __init__(self, settings: Settings, where: Where, detect_batch: int) -> None:
        self._stack = ExitStack()
        self.ctx: Context = self._stack.enter_context(open_context(settings))
        self.where, self.detect_batch = where, detect_batch

    def __call__(self, batch: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        import ray
        import ray.cloudpickle

        sources: list[Source] = [ray.cloudpickle.loads(blob) for blob in batch["source"]]
        # One decode thread: the actor's CPU share goes to the detector.
        photos = scan_sources(sources, self.ctx, self.where, batch_size=self.detect_batch, workers=1)
        scanned = [pickle.dumps(photo) for photo in photos]
        actor = str(ray.get_runtime_context().get_actor_id())
        return {"photo": np.array(scanned, dtype=object), "actor": np.array([actor] * len(scanned), dtype=object)}


@dataclass
class ClusterScanReport(ScanReport):
    """A scan's totals and how many photos each actor scanned."""

    per_actor: Counter[str] = field(default_factory=Counter)


def scan_on_ray(
    paths: Iterable[str | Path],
    ctx: Context,
    camera: str | None = None,
    place: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    progress: ScanProgress | None = None,
    *,
    actors: int = 2,
    cpus_per_actor: float = 1.0,
    gpus_per_actor: float = 0.0,
    batch_size: int = 4,
    detect_batch: int = 1,
) -> ClusterScanReport:
    """:func:`service.scan.scan` on the connected Ray cluster: the same arguments, checks, outcomes and report.

    ``actors`` detector actors of ``cpus_per_actor`` CPUs and ``gpus_per_actor`` GPUs each (a fraction shares a
    GPU) scan ``batch_size`` photos per call, ``detect_batch`` per detector run. Photos are reported as they
    finish, not in archive order.

    ``detect_batch`` stays 1 unless throughput on a GPU matters more than exact re-scans: photos of different sizes
    share one padded input in a batch, which moves their boxes slightly with their batch partners, and a box is
    part of a sighting's fingerprint (a re-scan would then update cases instead of finding duplicates).
    """
    import ray.cloudpickle
    import ray.data

    if min(actors, batch_size, detect_batch) < 1 or cpus_per_actor <= 0 or gpus_per_actor < 0:
        raise ValueError("actors, batch sizes and CPUs per actor must be positive, GPUs per actor at least 0")
    where = resolve_where(ctx, camera, place, lat, lon)
    sources = list(iter_sources(Path(path).resolve() for path in paths))  # absolute: actors run elsewhere
    report = ClusterScanReport()
    if not sources:
        return report
    # ONNX Runtime's default of one thread per core would oversubscribe a node shared by several actors.
    threads = ctx.settings.threads or max(1, math.floor(cpus_per_actor))
    settings = portable(ctx.settings).model_copy(update={"threads": threads})
    rows = [{"source": ray.cloudpickle.dumps(source)} for source in sources]  # type: ignore[no-untyped-call]
    blocks = min(len(rows), actors * BLOCKS_PER_ACTOR)
    scanned = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
        PhotoScanner,
        fn_constructor_args=(settings, where, detect_batch),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=cpus_per_actor,
        num_gpus=gpus_per_actor,
    )
    for done, row in enumerate(scanned.iter_rows(), start=1):
        photo: PhotoScan = pickle.loads(row["photo"])
        report.add(photo)
        report.per_actor[row["actor"]] += 1
        if progress is not None:
            progress(photo, done, len(sources))
    return report
