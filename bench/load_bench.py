"""Load on the running service: concurrent photo uploads and API reads against ``gridwatch serve`` (a real uvicorn
child process on a fresh SQLite store, the shipped model), from an asyncio httpx load generator.

Setup uploads a seed batch so reads have cases, evidence and batches to return. Then, for ``--seconds``,
``--uploaders`` clients each upload a batch of 1-3 photos every ``--upload-interval`` seconds (each a distinct file,
so none is deduplicated away; every client has its own ingest token) while ``--readers`` clients read the case list,
a case's detail, its evidence picture, a batch, the KPIs, observations and camera status as the review UI does.
Every answer but a 2xx counts as an error. Afterwards the bench waits for the uploaded photos to be processed and
checks none failed.

Prints a Markdown table of p50/p99/max latency per request kind and writes the numbers as JSON
(``bench/results/load.json``). Run: ``python -m bench.load_bench [--seconds 60] [--uploaders 4] [--readers 16]
[--database-url postgresql+psycopg://...]`` (the database must be empty).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import random
import statistics
import tempfile
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from service.core.config import REPO_ROOT
from service.core.site import Place, Zone, default_site, dump_site
from tests.service_process import ServiceProcess

SAMPLES = sorted((REPO_ROOT / "samples").glob("*.jpg"))
RESULTS = REPO_ROOT / "bench" / "results" / "load.json"
PLACE = "bench-place"


def photo(n: int) -> bytes:
    """The n-th distinct photo: a real sample with bytes after its end marker (changes the hash, not the picture)."""
    return SAMPLES[n % len(SAMPLES)].read_bytes() + f"load {n}".encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class Stats:
    """Latencies (ms) and failures per request kind."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    async def timed(self, kind: str, request: Any, ok: tuple[int, ...] = (200, 201, 202)) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response: httpx.Response = await request
        except httpx.HTTPError as exc:
            self.errors[kind].append(f"{type(exc).__name__}: {exc}")
            return None
        self.latency[kind].append((time.perf_counter() - start) * 1000)
        if response.status_code not in ok:
            self.errors[kind].append(f"{response.status_code} {response.text[:200]}")
            return None
        return response

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for kind in sorted(self.latency):
            values = self.latency[kind]
            rows.append(
                {
                    "kind": kind,
                    "requests": len(values),
                    "errors": len(self.errors.get(kind, [])),
                    "p50_ms": round(statistics.median(values), 1),
                    "p99_ms": round(percentile(values, 99), 1),
                    "max_ms": round(max(values), 1),
                }
            )
        return rows


@dataclass
class Shared:
    """What the readers read: ids the uploads and the seed produced."""

    cases: list[int] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    batches: list[str] = field(default_factory=list)
    photos: int = 0


async def uploader(
    client: httpx.AsyncClient, headers: dict[str, str], stats: Stats, shared: Shared, end: float, interval: float
) -> None:
    rng = random.Random(id(headers))
    while time.monotonic() < end:
        next_at = time.monotonic() + interval
        files = []
        for _ in range(rng.randint(1, 3)):
            shared.photos += 1
            files.append(("files", (f"p{shared.photos}.jpg", photo(shared.photos), "image/jpeg")))
        response = await stats.timed(
            "POST /batches", client.post("/api/v1/batches", headers=headers, files=files, data={"place": PLACE})
        )
        if response is not None:
            shared.batches.append(response.json()["id"])
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def reader(client: httpx.AsyncClient, headers: dict[str, str], stats: Stats, shared: Shared, end: float) -> None:
    rng = random.Random(id(headers) ^ int(time.time()))
    while time.monotonic() < end:
        kind = rng.choice(["cases", "case", "evidence", "batch", "kpis", "observations", "cameras"])
        if kind == "cases":
            await stats.timed("GET /cases", client.get("/api/v1/cases", params={"limit": 50}, headers=headers))
        elif kind == "case":
            case = rng.choice(shared.cases)
            await stats.timed("GET /cases/{id}", client.get(f"/api/v1/cases/{case}", headers=headers))
        elif kind == "evidence":
            sha = rng.choice(shared.evidence)
            await stats.timed("GET /evidence/{sha}", client.get(f"/api/v1/evidence/{sha}", headers=headers))
        elif kind == "batch":
            batch = rng.choice(shared.batches)
            await stats.timed("GET /batches/{id}", client.get(f"/api/v1/batches/{batch}", headers=headers))
        elif kind == "kpis":
            await stats.timed("GET /reports/kpis", client.get("/api/v1/reports/kpis", headers=headers))
        elif kind == "observations":
            await stats.timed("GET /observations", client.get("/api/v1/observations", headers=headers))
        else:
            await stats.timed("GET /cameras/status", client.get("/api/v1/cameras/status", headers=headers))


def seed(service: ServiceProcess, headers: dict[str, str], photos: int, shared: Shared) -> None:
    files = io.BytesIO()
    with zipfile.ZipFile(files, "w", zipfile.ZIP_STORED) as zf:
        for i in range(photos):
            zf.writestr(f"seed/{i:03d}.jpg", photo(10_000 + i))
    response = httpx.post(
        f"{service.url}/api/v1/batches",
        headers=headers,
        files={"files": ("seed.zip", files.getvalue(), "application/zip")},
        data={"place": PLACE},
        timeout=120,
    )
    response.raise_for_status()
    batch = response.json()["id"]
    wait_processed(service, headers, [batch], timeout=600)
    shared.batches.append(batch)
    cases = httpx.get(f"{service.url}/api/v1/cases", params={"limit": 200}, headers=headers).json()["items"]
    shared.cases = [c["id"] for c in cases]
    for case in shared.cases[:20]:
        detail = httpx.get(f"{service.url}/api/v1/cases/{case}", headers=headers).json()
        shared.evidence += [e["sha256"] for e in detail["evidence"]]
    if not shared.cases or not shared.evidence:
        raise SystemExit("the seed batch opened no case: nothing to read")


def wait_processed(
    service: ServiceProcess, headers: dict[str, str], batches: list[str], timeout: float
) -> dict[str, int]:
    """Wait until every batch is done; totals of photos, processed and failed."""
    deadline = time.monotonic() + timeout
    pending = list(batches)
    totals = {"photos": 0, "processed": 0, "failed": 0}
    with httpx.Client(base_url=service.url, headers=headers, timeout=60) as client:
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"{len(pending)} batches not processed in {timeout:g} s")
            body = client.get(f"/api/v1/batches/{pending[0]}").json()
            if body["state"] != "done":
                time.sleep(0.5)
                continue
            pending.pop(0)
            totals["photos"] += body["total"]
            totals["processed"] += body["processed"]
            totals["failed"] += body["failed"]
    return totals


async def load(service: ServiceProcess, args: argparse.Namespace, shared: Shared) -> tuple[Stats, float]:
    admin = service.login()
    tokens = [service.ingest_token(f"loader-{i}") for i in range(args.uploaders)]
    seeded = len(shared.batches)
    stats = Stats()
    limits = httpx.Limits(max_connections=args.uploaders + args.readers + 4)
    async with httpx.AsyncClient(base_url=service.url, timeout=120, limits=limits) as client:
        start = time.monotonic()
        end = start + args.seconds
        tasks = [uploader(client, t, stats, shared, end, args.upload_interval) for t in tokens]
        tasks += [reader(client, admin, stats, shared, end) for _ in range(args.readers)]
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
    del shared.batches[:seeded]  # the uploads of the run only
    return stats, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load phase (default 60)")
    parser.add_argument("--uploaders", type=int, default=4, help="concurrent upload clients (default 4)")
    parser.add_argument("--readers", type=int, default=16, help="concurrent API readers (default 16)")
    parser.add_argument(
        "--upload-interval", type=float, default=1.0, help="seconds between one uploader's batches (default 1)"
    )
    parser.add_argument("--seed-photos", type=int, default=14, help="photos uploaded before the run (default 14)")
    parser.add_argument("--database-url", help="store URL, e.g. an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"write the numbers here (default {RESULTS})")
    args = parser.parse_args(argv)

    base = default_site()
    whole = Zone(id="whole-photo", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
    place = Place(id=PLACE, name="Bench", grid=base.grids[0].id, lat=31.24, lon=121.46, radius_m=40, zones=[whole])
    with tempfile.TemporaryDirectory(prefix="gridwatch-load-") as tmp:
        root = Path(tmp)
        dump_site(base.model_copy(update={"places": [place]}), root / "site.yaml")
        # The bench measures capacity: the per-principal upload limit is off (each uploader has its own token anyway).
        env = {"GRIDWATCH_SITE": str(root / "site.yaml"), "GRIDWATCH_UPLOAD_RATE_LIMIT": "0"}
        if args.database_url:
            env["GRIDWATCH_DATABASE_URL"] = args.database_url
        with ServiceProcess(root, env) as service:
            shared = Shared()
            seed(service, service.login(), args.seed_photos, shared)
            stats, elapsed = asyncio.run(load(service, args, shared))
            drain_start = time.monotonic()
            processed = wait_processed(service, service.login(), shared.batches, timeout=1800)
            drain = time.monotonic() - drain_start
            logs = service.logs()
    rows = stats.table()
    requests = sum(r["requests"] for r in rows)
    errors = sum(r["errors"] for r in rows)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "store": "postgresql" if args.database_url else "sqlite",
        "seconds": round(elapsed, 1),
        "uploaders": args.uploaders,
        "readers": args.readers,
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "errors": errors,
        "error_samples": {k: v[:3] for k, v in stats.errors.items()},
        "photos_uploaded": processed["photos"],
        "photos_failed": processed["failed"],
        "processing_backlog_s": round(drain, 1),
        "unhandled_errors_logged": logs.count("unhandled error"),
        "by_kind": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{requests} requests in {elapsed:.0f} s ({requests / elapsed:.1f}/s), {errors} errors; ")
    print(f"{processed['photos']} photos uploaded, {processed['failed']} failed, backlog processed {drain:.0f} s later")
    print("\n| request | n | errors | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['kind']} | {r['requests']} | {r['errors']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} |")
    if errors:
        print(json.dumps(result["error_samples"], indent=2))
    ok = errors == 0 and processed["failed"] == 0 and result["unhandled_errors_logged"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
