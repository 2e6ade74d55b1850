"""``gridwatch evidence sweep``: remove evidence pictures that no case references (see :mod:`service.store.sweep`)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import TextIO

from cli.common import Subparsers, positive_int
from service.core.config import Settings
from service.store.blobs import open_blob_store
from service.store.db import open_settings_store
from service.store.sweep import DEFAULT_MIN_AGE, sweep_orphans


def run_sweep(args: argparse.Namespace, out: TextIO) -> int:
    settings = Settings()
    store, blobs = open_settings_store(settings), open_blob_store(settings)
    try:
        result = sweep_orphans(store, blobs, min_age=timedelta(minutes=args.min_age_minutes), dry_run=args.dry_run)
    finally:
        store.dispose()
    verb = "would remove" if args.dry_run else "removed"
    for blob in result.removed:
        out.write(f"{verb} {blob.sha256}.{blob.ext}\n")
    out.write(f"{verb} {len(result.removed)} orphans, kept {result.kept} pictures in {blobs.location}\n")
    return 0


def register(sub: Subparsers) -> None:
    evidence = sub.add_parser("evidence", help="maintain the evidence store")
    evidence_sub = evidence.add_subparsers(dest="evidence_command", required=True)
    sweep = evidence_sub.add_parser("sweep", help="remove pictures that no case references")
    sweep.add_argument(
        "--min-age-minutes",
        type=positive_int,
        default=int(DEFAULT_MIN_AGE.total_seconds() // 60),
        metavar="M",
        help="keep pictures younger than this: their writer may not have committed yet (default: %(default)s)",
    )
    sweep.add_argument("--dry-run", action="store_true", help="list the orphans, remove nothing")
    sweep.set_defaults(func=run_sweep)
