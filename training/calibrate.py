"""Operating thresholds: the per-label minimum score a shipped model reports at, chosen on the val split.

A label's threshold is the highest score whose image-level F1 on val is within ``F1_SLACK`` of the best while
keeping the false-alarm rate (share of images without the label, from sources that annotate it, where it is
reported) at or below a target. Without negatives precision means nothing, so a label with positives only
keeps the default, as does one with neither. Labels no real source annotates (``assume_absent``, e.g.
``poster``, learnt from synthetic images only) are calibrated as if every real val image were without them,
so that their threshold bounds how often they fire on real photos. The thresholds are written into the ONNX
metadata (:data:`vision.detector.THRESHOLDS_KEY`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from training.detections import SplitDetections
from training.evaluate import DEFAULT_THRESHOLD
from vision.detector import THRESHOLDS_KEY

MIN_THRESHOLD = 0.10  # below this a shipped model reports noise
MAX_THRESHOLD = 0.90
F1_SLACK = 0.02


@dataclass(frozen=True)
class Calibration:
    """One label's chosen threshold and what it gives on the calibration split.

    Attributes:
        label: label name.
        threshold: minimum score, 0..1.
        positives: images with the label; negatives: images without it (as calibrated).
        recall, precision, false_alarm: image-level rates at the threshold (NaN when undefined).
        basis: "f1 under false-alarm cap", "false-alarm cap", "absent-assumed" or "default".
    """

    label: str
    threshold: float
    positives: int
    negatives: int
    recall: float
    precision: float
    false_alarm: float
    basis: str


def _top_scores(found: SplitDetections) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(I, C) best score per image and label (-inf: none), (I, C) has-ground-truth, (I, C) labelled."""
    n_img, n_cls = len(found.images), len(found.names)
    top = np.full((n_img, n_cls), -np.inf)
    has_gt = np.zeros((n_img, n_cls), bool)
    labelled = np.zeros((n_img, n_cls), bool)
    for i, im in enumerate(found.images):
        np.maximum.at(top[i], np.asarray(im.det_class, np.int64), np.asarray(im.det_score, np.float64))
        has_gt[i, np.asarray(im.gt_class, np.int64)] = True
        labelled[i] = np.asarray(im.labelled, bool)
    return top, has_gt, labelled


def _rates(
    top: npt.NDArray[np.float64], pos: npt.NDArray[np.bool_], neg: npt.NDArray[np.bool_], t: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Recall, precision and false-alarm rate (each (T,)) at candidate thresholds ``t`` (T,)."""
    hit = top[None, :] >= t[:, None]  # (T, I)
    tp = (hit & pos).sum(1)
    fp = (hit & neg).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / pos.sum() if pos.any() else np.full(len(t), np.nan)
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
        false_alarm = fp / neg.sum() if neg.any() else np.full(len(t), np.nan)
    return recall, precision, false_alarm


def calibrate(
    found: SplitDetections, *, max_false_alarm: float = 0.05, assume_absent: Iterable[str] = ()
) -> list[Calibration]:
    """Choose a threshold per label the model shares with the dataset (see the module docstring)."""
    if not 0.0 <= max_false_alarm <= 1.0:
        raise ValueError(f"max_false_alarm must be in [0, 1], got {max_false_alarm}")
    absent = set(assume_absent)
    top, has_gt, labelled = _top_scores(found)
    grid = np.round(np.arange(MIN_THRESHOLD, MAX_THRESHOLD + 1e-9, 0.01), 2)
    out: list[Calibration] = []
    for c, name in enumerate(found.names):
        if not found.in_model[c]:
            continue
        if name in absent:
            pos, neg = np.zeros(len(top), bool), np.ones(len(top), bool)
        else:
            pos, neg = labelled[:, c] & has_gt[:, c], labelled[:, c] & ~has_gt[:, c]
        recall, precision, false_alarm = _rates(top[:, c], pos, neg, grid)
        if pos.any() and neg.any():
            f1 = np.where(
                false_alarm <= max_false_alarm, np.nan_to_num(2 * precision * recall / (precision + recall)), -1
            )
            # The highest threshold within F1_SLACK of the best: F1 is flat near its peak on a small val split,
            # and the higher score generalises with fewer false alarms.
            k = int(np.flatnonzero(f1 >= f1.max() - F1_SLACK)[-1]) if f1.max() >= 0 else len(grid) - 1
            basis = "f1 under false-alarm cap"
        elif neg.any():
            ok = np.flatnonzero(false_alarm <= max_false_alarm)
            k = int(ok[0]) if len(ok) else len(grid) - 1
            basis = "absent-assumed" if name in absent else "false-alarm cap"
        else:
            k = int(np.argmin(np.abs(grid - DEFAULT_THRESHOLD)))
            basis = "default"
        out.append(
            Calibration(
                name,
                float(grid[k]),
                int(pos.sum()),
                int(neg.sum()),
                float(recall[k]),
                float(precision[k]),
                float(false_alarm[k]),
                basis,
            )
        )
    return out


def write_thresholds(model: Path, thresholds: dict[str, float]) -> None:
    """Store ``thresholds`` (label -> score) in the ONNX metadata of ``model``, in place (needs ``onnx``)."""
    import onnx

    proto = onnx.load(str(model))
    entries = {p.key: p.value for p in proto.metadata_props}
    entries[THRESHOLDS_KEY] = json.dumps(thresholds, sort_keys=True)
    del proto.metadata_props[:]
    for key, value in entries.items():
        proto.metadata_props.add(key=key, value=value)
    tmp = model.with_suffix(".onnx.tmp")
    onnx.save(proto, str(tmp))
    tmp.replace(model)


def markdown(rows: Iterable[Calibration]) -> str:
    """The calibration as a markdown table."""

    def pct(v: float) -> str:
        return "n/a" if np.isnan(v) else f"{v:.2f}"

    lines = [
        "| label | threshold | positives | negatives | recall | precision | false-alarm rate | basis |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.label} | {r.threshold:.2f} | {r.positives} | {r.negatives} | {pct(r.recall)} | {pct(r.precision)} "
        f"| {pct(r.false_alarm)} | {r.basis} |"
        for r in rows
    ]
    return "\n".join(lines)
