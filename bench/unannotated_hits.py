"""Where a label fires on photos whose source never boxes it (``python -m bench.unannotated_hits``).

``gridwatch eval`` counts false alarms only on photos of sources that annotate the label. A label learnt from one
or two sources (debris: dumped furniture and vehicle-camera clutter) can still fire on the other sources' photos:
café chairs, bins, bag piles. Each such hit is a false alarm or a real, unlabelled object; this counts them per
source at each model's own thresholds, side by side, on the same photos.

    .venv/bin/python -m bench.unannotated_hits DATASET --split test --label debris \\
        --models models/gridwatch-yolo26n.onnx OLD.onnx
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from datasets.sources import SOURCES
from training.sampling import source_of
from vision.detector import Detector
from vision.imageio import read_image
from vision.sources import IMAGE_SUFFIXES


def annotating_sources(label: str) -> set[str]:
    """Names of the dataset sources that annotate ``label`` exhaustively (their photos count in eval)."""
    return {name for name, spec in SOURCES.items() if label in spec.labelled}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", type=Path, help="a built dataset (gridwatch dataset build --out)")
    ap.add_argument("--split", choices=("val", "test"), default="test")
    ap.add_argument("--label", required=True)
    ap.add_argument("--models", type=Path, nargs="+", required=True)
    args = ap.parse_args(argv)
    skip = annotating_sources(args.label) | {"synth"}
    photos = sorted(
        p
        for p in (args.dataset / "images" / args.split).iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and source_of(p) not in skip
    )
    print(f"{len(photos)} {args.split} photos of sources that do not box {args.label} (skipped: {sorted(skip)})")
    for model in args.models:
        detector = Detector(model, providers="cpu", model_thresholds=True)
        wanted = detector.names.index(args.label)
        shown, hits = Counter[str](), Counter[str]()
        for photo in photos:
            source = source_of(photo)
            shown[source] += 1
            hits[source] += int((detector.detect([read_image(photo)])[0].class_id == wanted).any())
        per_source = ", ".join(f"{s} {hits[s]}/{shown[s]}" for s in sorted(shown))
        print(f"{model}: {args.label} on {sum(hits.values())} of {len(photos)} photos ({per_source})")


if __name__ == "__main__":
    main()
