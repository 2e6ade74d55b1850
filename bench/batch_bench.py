"""Photo-batch throughput through the API: upload a zip of N real photos, time until the batch is processed.

The service runs in-process (FastAPI app on a fresh SQLite store, the shipped model, the batch worker in its
background thread) and is driven over its HTTP interface (ASGI test client: the whole request path, no
network socket). Photos are the bundled samples, each copy made a distinct file (bytes appended after the
JPEG end marker) so none is deduplicated away; the patrol place has a no-parking zone over the whole photo,
so parked vehicles open and update cases as in real use.

Run: ``python -m bench.batch_bench [--photos 60]``.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import tempfile
import time
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from service.auth.users import create_user
from service.context import Context
from service.core.config import REPO_ROOT, Settings
from service.core.site import Place, Zone, default_site, dump_site
from service.store.models import Role

SAMPLES = REPO_ROOT / "samples"
PASSWORD = "bench-passw0rd"


def photo_zip(n: int) -> bytes:
    photos = sorted(SAMPLES.glob("*.jpg"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # JPEGs do not compress
        for i in range(n):
            src = photos[i % len(photos)]
            zf.writestr(f"patrol/{i:04d}-{src.name}", src.read_bytes() + f"copy {i}".encode())
    return buf.getvalue()


def bench(n: int, data_dir: Path) -> dict[str, float]:
    base = default_site()
    grid = base.grids[0].id
    whole = Zone(id="whole-photo", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
    place = Place(id="bench-place", name="Bench", grid=grid, lat=31.24, lon=121.46, radius_m=40, zones=[whole])
    site = data_dir / "site.yaml"
    dump_site(base.model_copy(update={"places": [place]}), site)
    archive = photo_zip(n)
    settings = Settings(data_dir=data_dir / "data", site=site)
    with TestClient(create_app(settings)) as client:
        ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
        with ctx.store.transaction() as s:
            create_user(s, "bench", Role.OPERATOR, PASSWORD, [])
        _ = ctx.detector  # loaded before the clock starts, as in a running service
        token = client.post("/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        start = time.perf_counter()
        response = client.post(
            "/api/v1/batches",
            headers=headers,
            data={"place": "bench-place"},
            files=[("files", ("patrol.zip", archive, "application/zip"))],
        )
        response.raise_for_status()
        uploaded = time.perf_counter()
        batch_id = response.json()["id"]
        while (body := client.get(f"/api/v1/batches/{batch_id}", headers=headers).json())["state"] != "done":
            time.sleep(0.1)
        done = time.perf_counter()
    return {
        "photos": body["processed"],
        "failed": body["failed"],
        "opened": body["opened"],
        "updated": body["updated"],
        "upload_s": uploaded - start,
        "total_s": done - start,
        "zip_mb": len(archive) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = bench(args.photos, Path(tmp))
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("| photos | zip MB | upload s | total s | photos/s | failed | cases opened | cases updated |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {r['photos']:.0f} | {r['zip_mb']:.1f} | {r['upload_s']:.2f} | {r['total_s']:.1f} "
        f"| {r['photos'] / r['total_s']:.2f} | {r['failed']:.0f} | {r['opened']:.0f} | {r['updated']:.0f} |"
    )


if __name__ == "__main__":
    main()
