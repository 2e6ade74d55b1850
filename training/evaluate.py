"""``gridwatch eval``: score an ONNX detector on a split of a dataset written by ``gridwatch dataset build``.

Detections come from GridWatch's own engine (:class:`vision.detector.Detector`, decoding through
:mod:`vision.imageio`), so the numbers describe what ships, not what Ultralytics would predict. The
metric math lives in :mod:`vision.metrics`; this module reads the dataset, knows which labels each image's
source annotates exhaustively (:data:`datasets.sources.SOURCES`, found from the ``SOURCE__stem`` file
names the builder writes) and formats the report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from datasets.sources import SOURCES
from training.detections import SplitDetections
from training.reviewed import ReviewedLabels, apply_reviewed
from vision.detector import Detector
from vision.metrics import DetectionMetrics, ImageEval, ap50_draws, cluster_weights, evaluate
from vision.pipeline import detect_sources
from vision.sources import IMAGE_SUFFIXES, iter_sources

AP_CONF = 0.001  # score floor for AP: the whole precision-recall curve, as COCO and Ultralytics evaluate
DEFAULT_THRESHOLD = 0.25  # operating threshold of a label the model metadata does not name (detect's --conf)
SYNTHETIC_PREFIX = "synth_"
MIN_SOURCE_INSTANCES = 10  # a source's AP50 of a label is reported as its worst only with this many boxes
BOOTSTRAP_ROUNDS = 1000  # resamples behind each confidence interval
CI_LEVEL = 0.90  # confidence intervals span the 5th to the 95th percentile of the resamples

ProgressFn = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each image."""


def _cell(x: object) -> str:
    """A table cell: n/a, a count, a figure to 3 places, or an interval ``lo-hi``."""
    if x is None:
        return "n/a"
    if isinstance(x, list):
        return "-".join(f"{v:.3f}" for v in x)
    return f"{x:.3f}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class SplitImage:
    """One image of the split with its ground truth.

    Attributes:
        path: image file.
        source: the source folder it was built from (file name prefix before ``__``).
        class_id: (G,) int64 label indices into the dataset's names.
        xywhn: (G, 4) float64 YOLO boxes, centre and size normalised to the image.
        labelled: (C,) bool, True for labels annotated exhaustively on this image.
    """

    path: Path
    source: str
    class_id: npt.NDArray[np.int64]
    xywhn: npt.NDArray[np.float64]
    labelled: npt.NDArray[np.bool_]


def read_names(dataset: Path) -> tuple[str, ...]:
    """Label names of ``dataset/data.yaml``; see :func:`yaml_names`."""
    return yaml_names(dataset / "data.yaml")


def yaml_names(data_yaml: Path) -> tuple[str, ...]:
    """Label names of an Ultralytics data YAML (a list, or a mapping from index to name)."""
    data = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        names = [names[i] for i in sorted(names)]
    if not isinstance(names, list) or not names:
        raise ValueError(f"{data_yaml} has no list of names")
    return tuple(str(n) for n in names)


def read_labels(path: Path, n_classes: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """YOLO box file ``cls cx cy w h`` per line -> class ids (G,) and normalised xywh (G, 4); missing file: none.

    Raises:
        ValueError: naming file and line for anything but five numbers with a known class id.
    """
    ids: list[int] = []
    boxes: list[list[float]] = []
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            if len(fields) != 5:
                raise ValueError("expected 5 columns")
            cls, box = int(fields[0]), [float(v) for v in fields[1:]]
            if not 0 <= cls < n_classes:
                raise ValueError(f"class id outside 0..{n_classes - 1}")
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: {exc}: {line.strip()[:80]!r}") from None
        ids.append(cls)
        boxes.append(box)
    return np.array(ids, np.int64), np.array(boxes, np.float64).reshape(-1, 4)


def _card(dataset: Path) -> dict[str, object]:
    path = dataset / "card.json"
    if not path.is_file():
        raise ValueError(f"{path} is missing: evaluate datasets written by `gridwatch dataset build`")
    card = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(card, dict):
        raise ValueError(f"{path} is not a JSON object")
    return card


def read_clusters(dataset: Path, paths: Sequence[Path]) -> tuple[list[str], bool]:
    """The cluster of each image (``card.json`` ``clusters``: its split component, see ``gridwatch dataset build``).

    Returns:
        (N,) cluster keys, and whether the dataset records them; a dataset built before they were recorded gives
        each image a cluster of its own (intervals then treat related photos as independent: too narrow).
    """
    recorded = _card(dataset).get("clusters")
    if not isinstance(recorded, dict) or not recorded:
        return [p.stem for p in paths], False
    missing = [p.name for p in paths if p.stem not in recorded]
    if missing:
        raise ValueError(f"{dataset}/card.json names no cluster for {len(missing)} images (e.g. {missing[0]})")
    return [str(recorded[p.stem]) for p in paths], True


def load_split(
    dataset: Path, split: str = "test", *, pseudo_gt: bool = False
) -> tuple[tuple[str, ...], list[SplitImage]]:
    """Read the images and ground truth of one split.

    Args:
        dataset: folder with ``data.yaml``, ``card.json``, ``images/SPLIT`` and ``labels/SPLIT``.
        split: ``train``, ``val`` or ``test``.
        pseudo_gt: count the builder's COCO pseudo-labels (person and vehicles on every image) as exhaustive
            ground truth; off, those labels count only on sources that box them themselves.

    Returns:
        The dataset's label names (C) and the split's images in file-name order.

    Raises:
        ValueError: an empty or missing split, a synthetic image in it, an image from a source not in
            :data:`SOURCES` (its exhaustive labels are unknown), a bad label line, or ``pseudo_gt`` on a
            dataset built without pseudo-labels.
    """
    names = read_names(dataset)
    card = _card(dataset)
    pseudo: frozenset[str] = frozenset()
    if pseudo_gt:
        pseudo_labels = card.get("pseudo")
        if not card.get("pseudo_model") or not isinstance(pseudo_labels, dict):
            raise ValueError(f"{dataset} was built without pseudo-labels (--no-pseudo); drop --pseudo-gt")
        pseudo = frozenset(str(name) for name in pseudo_labels)
    folder = dataset / "images" / split
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if not files:
        raise ValueError(f"no images in {folder}")
    # The card names the generator's file prefix; "synth_" is the convention even without it.
    prefixes = tuple({SYNTHETIC_PREFIX, str(card.get("synthetic_prefix") or SYNTHETIC_PREFIX)})
    synthetic = [p.name for p in files if p.name.startswith(prefixes)]
    if synthetic:
        raise ValueError(
            f"refusing to evaluate: {len(synthetic)} synthetic images in the {split} split "
            f"(e.g. {synthetic[0]}); synthetic images are training data only"
        )
    images = []
    for path in files:
        source = path.stem.split("__", 1)[0]
        if source not in SOURCES:
            raise ValueError(f"{path.name}: unknown source {source!r}, so which labels it annotates is unknown")
        labelled = SOURCES[source].labelled | pseudo
        class_id, xywhn = read_labels(dataset / "labels" / split / f"{path.stem}.txt", len(names))
        images.append(SplitImage(path, source, class_id, xywhn, np.array([n in labelled for n in names], dtype=bool)))
    return names, images


@dataclass(frozen=True)
class EvalReport:
    """Metrics of one model on one split.

    Attributes:
        dataset: the dataset folder.
        split: evaluated split.
        model: model file.
        model_sha256: the model's digest.
        names: (C,) the dataset's labels.
        in_model: (C,) labels the model predicts (by name); the others are not evaluated.
        thresholds: (C,) operating thresholds (NaN for labels not in the model).
        n_images: images evaluated: the whole split, or the reviewed file's images.
        pseudo_gt: whether pseudo-labels counted as ground truth.
        metrics: per-label metrics over the dataset's labels.
        reviewed: the reviewed ground-truth file that replaced the dataset's boxes of its labels, if any.
        by_source: the same metrics over each source's images alone (source -> metrics), sources in name
            order: a model that generalises is judged by its worst source, not by the mix.
        ap50_ci: (C, 2) 90 % bootstrap interval of each label's AP50 (whole clusters resampled within each
            source, :data:`BOOTSTRAP_ROUNDS` times); NaN where undefined; None when not computed.
        source_ap50_ci: source -> (C, 2) the same interval over that source's images.
        clustered: whether the intervals resampled the dataset's clusters (False: each image its own).
    """

    dataset: Path
    split: str
    model: Path
    model_sha256: str
    names: tuple[str, ...]
    in_model: npt.NDArray[np.bool_]
    thresholds: npt.NDArray[np.float64]
    n_images: int
    pseudo_gt: bool
    metrics: DetectionMetrics
    reviewed: Path | None = None
    by_source: Mapping[str, DetectionMetrics] = field(default_factory=dict)
    ap50_ci: npt.NDArray[np.float64] | None = None
    source_ap50_ci: Mapping[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    clustered: bool = True

    def _rows(
        self, metrics: DetectionMetrics | None = None, ci: npt.NDArray[np.float64] | None = None
    ) -> dict[str, dict[str, object]]:
        """Per evaluated label, the figures of ``metrics`` and interval ``ci`` (default: the whole split's)."""
        m = self.metrics if metrics is None else metrics
        ci = self.ap50_ci if metrics is None else ci

        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(float(x), 4)

        def interval(c: int) -> list[float] | None:
            return None if ci is None or np.isnan(ci[c]).any() else [round(float(v), 4) for v in ci[c]]

        return {
            name: {
                "threshold": num(self.thresholds[c]),
                "images": int(m.images[c]),
                "instances": int(m.instances[c]),
                "negatives": int(m.negatives[c]),
                "ap50": num(m.ap50[c]),
                "ap50_ci": interval(c),
                "ap50_95": num(m.ap50_95[c]),
                "precision": num(m.precision[c]),
                "recall": num(m.recall[c]),
                "false_alarm_rate": num(m.false_alarm[c]),
            }
            for c, name in enumerate(self.names)
            if self.in_model[c]
        }

    def mean_ap(self) -> tuple[float, float]:
        """Mean AP50 and AP50-95 over the evaluated labels that have ground truth (NaN if none)."""
        ok = self.in_model & (self.metrics.instances > 0)
        if not ok.any():
            return math.nan, math.nan
        return float(self.metrics.ap50[ok].mean()), float(self.metrics.ap50_95[ok].mean())

    def to_json(self) -> dict[str, object]:
        """JSON-compatible report; every dataset label appears, ``null`` for "n/a" and for labels not in the model."""
        rows = self._rows()
        ap50, ap50_95 = self.mean_ap()
        return {
            "dataset": str(self.dataset),
            "split": self.split,
            "model": str(self.model),
            "model_sha256": self.model_sha256,
            "images": self.n_images,
            "pseudo_gt": self.pseudo_gt,
            "reviewed": None if self.reviewed is None else str(self.reviewed),
            "iou_thresholds": [round(float(t), 2) for t in self.metrics.iou_thresholds],
            "mean": {
                "ap50": None if math.isnan(ap50) else round(ap50, 4),
                "ap50_95": None if math.isnan(ap50_95) else round(ap50_95, 4),
            },
            "labels": {name: {"in_model": name in rows, **rows.get(name, {})} for name in self.names},
            "ci_level": CI_LEVEL if self.ap50_ci is not None else None,
            "ci_clustered": self.clustered,
            "sources": {
                source: self._rows(metrics, self.source_ap50_ci.get(source))
                for source, metrics in self.by_source.items()
            },
            "worst_source": {
                name: {"source": source, "ap50": round(ap50, 4)}
                for name, (source, ap50) in self.worst_sources().items()
            },
        }

    def worst_sources(self, min_instances: int = MIN_SOURCE_INSTANCES) -> dict[str, tuple[str, float]]:
        """Per evaluated label, the source with the lowest AP50 among those with ``min_instances`` boxes of it.

        Returns:
            label -> (source, AP50); labels no source has enough boxes of are left out.
        """
        worst: dict[str, tuple[str, float]] = {}
        for c, name in enumerate(self.names):
            if not self.in_model[c]:
                continue
            for source, m in self.by_source.items():
                if m.instances[c] >= min_instances and (name not in worst or m.ap50[c] < worst[name][1]):
                    worst[name] = (source, float(m.ap50[c]))
        return worst

    def source_markdown(self) -> str:
        """Markdown table: per evaluated label and source, images, boxes, AP50 (and interval), image recall and
        false alarms."""
        if not self.by_source:
            return ""
        lines = [
            "| label | source | images | instances | negatives | AP50 | AP50 90 % CI | image recall "
            "| false-alarm rate |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rows = {source: self._rows(m, self.source_ap50_ci.get(source)) for source, m in self.by_source.items()}
        keys = ("images", "instances", "negatives", "ap50", "ap50_ci", "recall", "false_alarm_rate")
        for name in self._rows():
            for source, by_label in rows.items():
                row = by_label[name]
                if row["images"] or row["negatives"]:  # sources that annotate the label
                    lines.append(f"| {name} | {source} | " + " | ".join(_cell(row[k]) for k in keys) + " |")
        return "\n".join(lines)

    def markdown(self) -> str:
        """Markdown table of the evaluated labels, "n/a" where a value is undefined."""
        cell = _cell
        lines = [
            f"{self.model.name} on {self.dataset.name}/{self.split}: {self.n_images} images"
            + (" (pseudo-labels count as ground truth)" if self.pseudo_gt else "")
            + (f", ground truth of the evaluated labels from {self.reviewed}" if self.reviewed else ""),
            "",
            "| label | threshold | images | instances | AP50 | AP50 90 % CI | AP50-95 | P | R | false-alarm rate |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, row in self._rows().items():
            keys = (
                "threshold",
                *("images", "instances", "ap50", "ap50_ci", "ap50_95"),
                *("precision", "recall", "false_alarm_rate"),
            )
            lines.append(f"| {name} | " + " | ".join(cell(row[k]) for k in keys) + " |")
        ap50, ap50_95 = self.mean_ap()
        lines.append(
            f"| **mean** | | | | {cell(None if math.isnan(ap50) else ap50)} | | "
            f"{cell(None if math.isnan(ap50_95) else ap50_95)} | | | |"
        )
        missing = [n for n, ok in zip(self.names, self.in_model.tolist(), strict=True) if not ok]
        if missing:
            why = (
                "Not in the reviewed file or not predicted by this model"
                if self.reviewed
                else "Not predicted by this model"
            )
            lines += ["", f"{why}, not evaluated: {', '.join(missing)}."]
        worst = self.worst_sources()
        if worst:
            lines += [
                "",
                f"Worst source per label (AP50, sources with >= {MIN_SOURCE_INSTANCES} boxes of the label): "
                + "; ".join(f"{name} {ap50:.3f} on {source}" for name, (source, ap50) in worst.items())
                + ".",
            ]
        lines += [
            "",
            "AP: COCO 101-point, boxes at score >= the detector's conf. P/R/false-alarm rate: per image at the "
            "threshold; false alarms over images without the label from sources that annotate it.",
        ]
        if self.ap50_ci is not None:
            lines.append(
                f"AP50 90 % CI: {BOOTSTRAP_ROUNDS} bootstrap resamples of "
                + (
                    "whole clusters (copies of a photo, one street run, one bin point) within each source."
                    if self.clustered
                    else "single images within each source (the dataset records no clusters: rebuild it for "
                    "intervals that do not treat related photos as independent)."
                )
            )
        per_source = self.source_markdown()
        if per_source:
            lines += ["", "Per source:", "", per_source]
        return "\n".join(lines)


def detect_split(
    dataset: Path,
    detector: Detector,
    *,
    split: str = "test",
    pseudo_gt: bool = False,
    batch_size: int = 1,
    progress: ProgressFn | None = None,
) -> SplitDetections:
    """Detect on every image of ``dataset/images/SPLIT``; see :func:`evaluate_split` for the arguments.

    Raises:
        ValueError: see :func:`load_split`; an unreadable image (every image of the split must count).
    """
    names, images = load_split(dataset, split, pseudo_gt=pseudo_gt)
    model_names = detector.names
    to_dataset = np.array([names.index(n) if n in names else -1 for n in model_names], np.int64)
    in_model = np.array([n in model_names for n in names], dtype=bool)
    evals: list[ImageEval] = []
    sources = iter_sources([im.path for im in images])
    results = detect_sources(sources, detector, batch_size=batch_size)
    for done, (im, result) in enumerate(zip(images, results, strict=True), start=1):
        if result.detections is None:
            raise ValueError(f"{im.path}: {result.error}")
        det = result.detections
        cls = to_dataset[det.class_id]
        keep = cls >= 0  # model classes the dataset does not have (COCO's other 74) are dropped
        size = np.array([result.width, result.height] * 2, np.float64)
        centre, wh = im.xywhn[:, :2], im.xywhn[:, 2:]
        gt_xyxy = np.concatenate((centre - wh / 2, centre + wh / 2), axis=1) * size
        evals.append(
            ImageEval(gt_xyxy, im.class_id, det.xyxy[keep], det.score[keep], cls[keep], im.labelled & in_model)
        )
        if progress is not None:
            progress(done, len(images))
    return SplitDetections(names, in_model, evals, [im.path for im in images])


def evaluate_split(
    dataset: Path,
    detector: Detector,
    *,
    split: str = "test",
    class_conf: Mapping[str, float] | None = None,
    pseudo_gt: bool = False,
    batch_size: int = 1,
    progress: ProgressFn | None = None,
    reviewed: ReviewedLabels | None = None,
    reviewed_path: Path | None = None,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> tuple[EvalReport, SplitDetections]:
    """Detect on every image of ``dataset/images/SPLIT`` and score the labels the model shares with the dataset.

    Args:
        dataset: dataset folder (see :func:`load_split`).
        detector: the engine, constructed with a low ``conf`` (:data:`AP_CONF`) so AP sees the whole curve.
        split: split to evaluate.
        class_conf: operating thresholds by label, over those in the model metadata; others get
            :data:`DEFAULT_THRESHOLD`.
        pseudo_gt: see :func:`load_split`.
        batch_size: images per inference batch.
        progress: called after each image.
        reviewed: reviewed ground truth (:mod:`training.reviewed`): evaluate only its images and score only its
            labels there, against its boxes; ``reviewed_path`` names it in the report.
        rounds: bootstrap resamples behind the AP50 intervals (0: no intervals).
        seed: seed of the resampling (the same seed resamples two models' runs alike).

    Returns:
        The report, and the ground truth and detections it was computed from.

    Raises:
        ValueError: see :func:`load_split`; a threshold for a label the model and dataset do not share; an
            unreadable image (every image of the split must count); see :func:`training.reviewed.apply_reviewed`.
    """
    names = read_names(dataset)
    unknown = sorted(set(class_conf or {}) - (set(names) & set(detector.names)))
    if unknown:
        raise ValueError(f"thresholds given for labels the model and dataset do not share: {unknown}")
    if reviewed is not None and reviewed.split != split:
        raise ValueError(f"the reviewed file covers the {reviewed.split} split, not {split}")
    found = detect_split(dataset, detector, split=split, pseudo_gt=pseudo_gt, batch_size=batch_size, progress=progress)
    if reviewed is not None:
        found = apply_reviewed(found, reviewed)
    wanted = {**detector.info.thresholds, **(class_conf or {})}
    thresholds = np.array(
        [wanted.get(n, DEFAULT_THRESHOLD) if ok else np.nan for n, ok in zip(names, found.in_model, strict=True)]
    )
    operating = np.nan_to_num(thresholds, nan=1.0)
    sources = np.array([path.stem.split("__", 1)[0] for path in found.paths])
    masks = {str(source): sources == source for source in sorted(set(sources.tolist()))}
    by_source = {source: evaluate(pick(found.images, mask), operating) for source, mask in masks.items()}
    clusters, clustered = read_clusters(dataset, found.paths)
    ap50_ci: npt.NDArray[np.float64] | None = None
    source_ci: dict[str, npt.NDArray[np.float64]] = {}
    if rounds > 0:
        weights = cluster_weights(clusters, sources.tolist(), rounds, np.random.default_rng(seed))
        ap50_ci = _interval(ap50_draws(found.images, len(names), weights))
        source_ci = {
            source: _interval(ap50_draws(pick(found.images, mask), len(names), weights[:, mask]))
            for source, mask in masks.items()
        }
    report = EvalReport(
        dataset=dataset,
        split=split,
        model=detector.path,
        model_sha256=detector.info.sha256,
        names=names,
        in_model=found.in_model,
        thresholds=thresholds,
        n_images=len(found.images),
        pseudo_gt=pseudo_gt,
        metrics=evaluate(found.images, operating),
        reviewed=reviewed_path,
        by_source=by_source,
        ap50_ci=ap50_ci,
        source_ap50_ci=source_ci,
        clustered=clustered,
    )
    return report, found


def pick(images: Sequence[ImageEval], mask: npt.NDArray[np.bool_]) -> list[ImageEval]:
    """The images where ``mask`` (N,) is True."""
    return [im for im, ok in zip(images, mask.tolist(), strict=True) if ok]


def _interval(draws: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(R, C) resampled values -> (C, 2) central :data:`CI_LEVEL` interval; NaN where no resample defines it."""
    tail = (1.0 - CI_LEVEL) / 2 * 100
    out = np.full((draws.shape[1], 2), np.nan)
    defined = ~np.isnan(draws).all(axis=0)
    if defined.any():
        out[defined] = np.nanpercentile(draws[:, defined], [tail, 100 - tail], axis=0).T
    return out
