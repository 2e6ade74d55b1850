"""The learning curve of a training run: validation figures per epoch, from Ultralytics' ``results.csv``.

A model card shows it so that a reader can tell whether more epochs would still pay: a curve still rising at
its last epochs says "train longer", a flat or falling one says "more data or another recipe".
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

# results.csv column -> table heading, in table order.
COLUMNS = {
    "train/box_loss": "train box loss",
    "train/cls_loss": "train cls loss",
    "val/box_loss": "val box loss",
    "val/cls_loss": "val cls loss",
    "metrics/precision(B)": "val P",
    "metrics/recall(B)": "val R",
    "metrics/mAP50(B)": "val mAP50",
    "metrics/mAP50-95(B)": "val mAP50-95",
}


@dataclass(frozen=True)
class Epoch:
    """One row of the curve: the epoch (1-based), hours since the start, and the figures of :data:`COLUMNS`."""

    epoch: int
    hours: float
    values: dict[str, float]


def read_curve(results_csv: Path) -> list[Epoch]:
    """Read a run's ``results.csv``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a file without the epoch, time and validation columns, or with no epoch.
    """
    with results_csv.open(encoding="utf-8", newline="") as f:
        rows = [{k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(f)]
    if not rows:
        raise ValueError(f"{results_csv}: no epoch recorded yet")
    missing = sorted({"epoch", "time", *COLUMNS} - set(rows[0]))
    if missing:
        raise ValueError(f"{results_csv}: not an Ultralytics detection results.csv (missing {', '.join(missing)})")
    try:
        return [
            Epoch(int(float(r["epoch"])), float(r["time"]) / 3600.0, {k: float(r[k]) for k in COLUMNS}) for r in rows
        ]
    except ValueError as exc:
        raise ValueError(f"{results_csv}: unreadable number: {exc}") from None


def curve_markdown(epochs: list[Epoch]) -> str:
    """Markdown table of the curve, the best validation mAP50 in bold."""
    best = max(e.values["metrics/mAP50(B)"] for e in epochs)
    lines = [
        "| epoch | hours | " + " | ".join(COLUMNS.values()) + " |",
        "|---:|---:|" + "---:|" * len(COLUMNS),
    ]
    for e in epochs:
        cells = [f"**{v:.3f}**" if k == "metrics/mAP50(B)" and v == best else f"{v:.3f}" for k, v in e.values.items()]
        lines.append(f"| {e.epoch} | {e.hours:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
