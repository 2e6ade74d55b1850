"""``gridwatch scan``: patrol photos through detection and the photo rules into cases, here or on Ray."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from cli.common import Subparsers, add_cluster_flag, add_photo_flags, add_progress_flag, photo_settings, positive_int
from service.cluster.engine import check_shared_store, parse_engine
from service.core.config import Settings
from service.progress import Progress


def register(sub: Subparsers) -> None:
    sc = sub.add_parser("scan", help="detect violations in photos and open or update cases in the store")
    sc.add_argument("paths", nargs="+", help="image files, folders (searched recursively) or .zip archives")
    where = sc.add_mutually_exclusive_group()
    where.add_argument("--camera", metavar="ID", help="the photos are stills of this site camera (its zones apply)")
    where.add_argument("--place", metavar="ID", help="the photos were taken at this site place (its zones apply)")
    where.add_argument("--lat", type=float, help="latitude of the photos, with --lon (default: each photo's EXIF GPS)")
    sc.add_argument("--lon", type=float, help="longitude of the photos, with --lat")
    sc.add_argument("--site", type=Path, help="site YAML (default: GRIDWATCH_SITE, else a one-grid default site)")
    sc.add_argument("--model", type=Path, help="ONNX model (default: GRIDWATCH_MODEL or the shipped model)")
    add_photo_flags(sc)
    sc.add_argument("--format", choices=("text", "jsonl"), default="text", help="output format (default text)")
    add_cluster_flag(sc)
    sc.add_argument("--actors", type=positive_int, default=2, help="detector actors with --cluster (default 2)")
    add_progress_flag(sc)
    sc.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here: the store (SQLAlchemy, Alembic) is not needed by detect.
    from service.context import open_context
    from service.scan import PhotoScan, scan

    notes = sys.stderr if args.format == "jsonl" else out  # keep stdout one JSON object per photo
    bar: list[Progress] = []

    def progress(photo: PhotoScan, done: int, total: int) -> None:
        if not bar:
            bar.append(Progress(total, enabled=args.progress))
        line = json.dumps(photo.to_json(), ensure_ascii=False) if args.format == "jsonl" else photo.text()
        out.write(line + "\n")
        bar[0].advance(done - bar[0].done)

    settings = photo_settings(args, Settings())
    engine = parse_engine(args.cluster or settings.cluster)
    with open_context(settings, site=args.site, model=args.model) as ctx:
        where = (args.camera, args.place, args.lat, args.lon)
        try:
            if engine.is_local:
                report = scan(args.paths, ctx, *where, progress=progress)
            else:
                # Imported here: Ray is the [cluster] extra.
                from service.cluster.archive import scan_on_ray

                engine.connect()
                check_shared_store(ctx.store_url, engine.nodes())
                report = scan_on_ray(
                    args.paths,
                    ctx,
                    *where,
                    progress=progress,
                    actors=args.actors,
                    cpus_per_actor=settings.cluster_cpus_per_worker,
                    gpus_per_actor=settings.cluster_gpus_per_worker,
                )
                notes.write(f"actors: {len(report.per_actor)}, photos each: {sorted(report.per_actor.values())}\n")
        finally:
            if bar:
                bar[0].close()
        notes.write(f"{report.summary()}\nstore: {ctx.store_location}\nevidence: {ctx.evidence.location}\n")
    return 1 if report.photos and report.failed == report.photos else 0
