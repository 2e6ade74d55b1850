"""Photo-archive throughput on Ray: one zip of N real photos scanned by 1 and by 2 detector actors on a local Ray
cluster of this machine, against the single-process ``gridwatch scan``; each run into a fresh PostgreSQL database,
whose case set must equal the single-process run's.

Photos are the bundled samples, each copy a distinct file (``bench.batch_bench.photo_zip``), scanned at the
example site's patrol place with a no-parking zone over the whole photo, so parked vehicles open and update cases
with their evidence as in real use. Each Ray actor has 1 CPU and 1 inference thread; the single process uses every
core. Times are end to end: from the call to the last photo's outcome, actor start-up (context, model) included.

Run: ``python -m bench.cluster_bench [--photos 96]`` (needs the [cluster] extra and the PostgreSQL server of the
tests, ``GRIDWATCH_TEST_POSTGRES``).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import ray

from bench.batch_bench import photo_zip
from service.cluster.archive import scan_on_ray
from service.cluster.engine import NAMESPACE
from service.context import open_context
from service.core.config import Settings
from service.scan import ScanReport, scan
from tests.cluster_fixtures import PLACE, CaseKey, case_set, write_place_site
from tests.db_fixtures import throwaway_pg_database


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    report: ScanReport
    cases: set[CaseKey]
    per_actor: list[int]


def run(name: str, archive: Path, site: Path, data_dir: Path, actors: int | None) -> Run:
    """Scan ``archive`` into a fresh database: in this process (``actors`` None) or with ``actors`` Ray actors."""
    with throwaway_pg_database() as url:
        threads = 0 if actors is None else 1
        settings = Settings(data_dir=data_dir, database_url=url, site=site, threads=threads)
        with open_context(settings) as ctx:
            if actors is None:
                _ = ctx.detector  # as a started service: the model is loaded before the clock starts
            start = time.perf_counter()
            if actors is None:
                report, per_actor = scan([archive], ctx, place=PLACE), []
            else:
                spread = scan_on_ray([archive], ctx, place=PLACE, actors=actors, batch_size=4)
                report, per_actor = spread, sorted(spread.per_actor.values())
            seconds = time.perf_counter() - start
            return Run(name, seconds, report, case_set(ctx.store), per_actor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=96)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        archive = folder / "patrol.zip"
        archive.write_bytes(photo_zip(args.photos))
        site = write_place_site(folder)
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, namespace=NAMESPACE, log_to_driver=False)
        runs = [
            run("single process (all cores)", archive, site, folder / "local", None),
            run("Ray, 1 actor", archive, site, folder / "ray1", 1),
            run("Ray, 2 actors", archive, site, folder / "ray2", 2),
        ]
        ray.shutdown()
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, Ray {ray.__version__}")
    print(f"load average (1, 5, 15 min) after the runs: {os.getloadavg()}")
    print("| run | photos | s | photos/s | photos per actor | cases | same cases as single process |")
    print("|---|---:|---:|---:|---|---:|---|")
    for r in runs:
        same = "yes" if r.cases == runs[0].cases else "**no**"
        actors = ", ".join(map(str, r.per_actor)) or "-"
        rate = r.report.photos / r.seconds
        print(f"| {r.name} | {r.report.photos} | {r.seconds:.1f} | {rate:.2f} | {actors} | {len(r.cases)} | {same} |")
    one, two = runs[1], runs[2]
    print(f"scaling 1 -> 2 actors: {one.seconds / two.seconds:.2f}x")
    print(f"report: {runs[0].report.summary()}")


if __name__ == "__main__":
    main()
