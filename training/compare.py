"""Two models on one split, label by label and source by source, with a paired bootstrap interval of the change.

A model is chosen on val, and val is small: a label or a source may hold a few dozen clusters (bin points, street
runs), so a point or two of AP50 can be luck. Both models' detections are scored on the same resamples of whole
clusters (:func:`vision.metrics.cluster_weights`), so the interval is of the difference itself, and the verdict
says whether the change is beyond what the resampling explains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from training.detections import SplitDetections
from training.evaluate import BOOTSTRAP_ROUNDS, CI_LEVEL, MIN_SOURCE_INSTANCES, pick
from vision.metrics import ImageEval, ap50_draws, cluster_weights

BETTER, WORSE, UNCLEAR = "better", "worse", "no clear change"


@dataclass(frozen=True)
class Change:
    """One label, over the whole split (``source`` None) or one source.

    Attributes:
        label: label name.
        source: source name, or None for the whole split.
        instances: ground-truth boxes of the label there.
        base: AP50 of the baseline model.
        new: AP50 of the compared model.
        low: lower end of the :data:`training.evaluate.CI_LEVEL` interval of ``new - base``.
        high: its upper end.
    """

    label: str
    source: str | None
    instances: int
    base: float
    new: float
    low: float
    high: float

    @property
    def verdict(self) -> str:
        """``better`` or ``worse`` when the whole interval lies on one side of 0, else ``no clear change``."""
        if self.low > 0:
            return BETTER
        if self.high < 0:
            return WORSE
        return UNCLEAR


def compare(
    base: SplitDetections,
    new: SplitDetections,
    clusters: Sequence[str],
    *,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
    min_instances: int = MIN_SOURCE_INSTANCES,
) -> list[Change]:
    """Per label the change of AP50 from ``base`` to ``new``, overall and on each source with ``min_instances``
    boxes of it.

    Args:
        base: the baseline's detections on a split.
        new: the other model's detections on the same images with the same ground truth.
        clusters: (N,) cluster key per image (:func:`training.evaluate.read_clusters`).
        rounds: paired bootstrap resamples (> 0).
        seed: resampling seed.
        min_instances: boxes a source needs for its own row.

    Returns:
        Rows for the labels both models predict: each label's overall row, then its sources in name order.

    Raises:
        ValueError: the two runs are not of the same images, or ``rounds`` < 1.
    """
    if [p.name for p in base.paths] != [p.name for p in new.paths] or base.names != new.names:
        raise ValueError("the two runs are not of the same split: evaluate both models on one dataset split")
    if len(clusters) != len(base.paths):
        raise ValueError(f"{len(clusters)} clusters for {len(base.paths)} images")
    if rounds < 1:
        raise ValueError("a comparison needs at least one bootstrap round")
    sources = np.array([p.stem.split("__", 1)[0] for p in base.paths])
    weights = cluster_weights(clusters, sources.tolist(), rounds, np.random.default_rng(seed))
    shared = base.in_model & new.in_model
    scopes: list[tuple[str | None, npt.NDArray[np.bool_]]] = [(None, np.ones(len(sources), bool))]
    scopes += [(str(s), sources == s) for s in sorted(set(sources.tolist()))]
    tail = (1.0 - CI_LEVEL) / 2 * 100
    rows: dict[tuple[str | None, int], Change] = {}
    for source, mask in scopes:
        images_base, images_new = pick(base.images, mask), pick(new.images, mask)
        # Row 0 counts every image once (the split itself), the others are the resamples: each model is matched
        # once per scope for both its AP50 and its resampled AP50s.
        scope_weights = np.vstack((np.ones((1, int(mask.sum()))), weights[:, mask]))
        draws_base = ap50_draws(images_base, len(base.names), scope_weights)
        draws_new = ap50_draws(images_new, len(base.names), scope_weights)
        point_base, point_new = draws_base[0], draws_new[0]
        diff = draws_new[1:] - draws_base[1:]
        boxes = _instances(images_base, len(base.names))
        for c in np.flatnonzero(shared):
            enough = boxes[c] >= (1 if source is None else min_instances)
            if not enough or math.isnan(point_base[c]) or np.isnan(diff[:, c]).all():
                continue
            low, high = np.nanpercentile(diff[:, c], [tail, 100 - tail])
            rows[source, int(c)] = Change(
                base.names[c], source, int(boxes[c]), float(point_base[c]), float(point_new[c]), low, high
            )
    return [
        rows[key]
        for c in np.flatnonzero(shared)
        for key in [(None, int(c)), *((s, int(c)) for s, _ in scopes[1:])]
        if key in rows
    ]


def _instances(images: Sequence[ImageEval], n_cls: int) -> npt.NDArray[np.int64]:
    """(C,) ground-truth boxes per label on the images that annotate it."""
    counts = np.zeros(n_cls, np.int64)
    for im in images:
        gt = np.asarray(im.gt_class, np.int64).reshape(-1)
        counts += np.bincount(gt, minlength=n_cls) * np.asarray(im.labelled, bool)
    return counts


def markdown(changes: Sequence[Change], base_name: str, new_name: str) -> str:
    """The comparison as a Markdown table, with how to read it."""
    lines = [
        f"AP50 change from {base_name} to {new_name}, with its {CI_LEVEL * 100:.0f} % paired bootstrap interval "
        f"(whole clusters resampled within each source); sources with >= {MIN_SOURCE_INSTANCES} boxes of the label:",
        "",
        "| label | source | boxes | AP50 before | AP50 after | change | 90 % CI of the change | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for ch in changes:
        lines.append(
            f"| {ch.label} | {ch.source or '**all**'} | {ch.instances} | {ch.base:.3f} | {ch.new:.3f} | "
            f"{ch.new - ch.base:+.3f} | {ch.low:+.3f} to {ch.high:+.3f} | {ch.verdict} |"
        )
    return "\n".join(lines)
