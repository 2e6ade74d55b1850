"""Build one Ultralytics YOLO dataset from the labelled sources in ``shared/data``.

Steps: read every sample (:func:`datasets.sources.iter_samples`), decode each image once to hash it
and, optionally, pseudo-label COCO vehicles and people with the shipped detector; group near-duplicates
across sources; assign group-aware splits; keep one image per duplicate group; write images (original
bytes), YOLO label files, ``data.yaml`` and a dataset card (``README.md`` + ``card.json``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from datasets.dedup import dhash, find_duplicates, hamming
from datasets.flyposting import Background, find_cjk_fonts, read_avoid_boxes, synthesize
from datasets.sources import SOURCES, Sample, iter_samples, label_path
from datasets.split import DEFAULT_FRACTIONS, SPLITS, components, splits_of, validate_fractions
from domain.errors import ImageError
from domain.taxonomy import LABEL_NAMES
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import DecodedImage, read_image

# COCO classes the detector already knows that are GridWatch labels of the same name.
PSEUDO_LABELS: frozenset[str] = frozenset({"person", "car", "truck", "bus", "motorcycle", "bicycle"})
DEFAULT_MAX_DISTANCE = 8
DETECT_BATCH = 8
# Backgrounds for synthetic flyposting -> their source classes where no ad is pasted (facades_spb: windows,
# cantilever and arch signs, signboards, window ads; doors are fair game, as on real streets).
SYNTH_BACKGROUNDS: dict[str, frozenset[int]] = {
    "facades_spb": frozenset({0, 1, 2, 3, 4}),
    "graffiti_negatives": frozenset(),
}
SYNTH_PREFIX = "synth_flyposting"
_LABEL_INDEX = {name: i for i, name in enumerate(LABEL_NAMES)}

ProgressFn = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each batch of images is read."""


@dataclass
class BuildReport:
    """What a build wrote, with the numbers the dataset card shows.

    Attributes:
        out: dataset folder (absolute).
        fractions: target (train, val, test) shares.
        max_distance: dhash Hamming distance (bits) up to which images count as near-duplicates.
        pseudo_model: file name and sha256 of the pseudo-labelling model, or None when it was off.
        pseudo_conf: minimum detector score for a pseudo-label.
        images: split -> images written.
        label_images: split -> label -> images with at least one box of it.
        label_boxes: split -> label -> boxes.
        sources: source -> {"images": {split: n}, "licence": str, "origin": str}.
        pseudo: label -> pseudo-label boxes written.
        pseudo_by_source: source -> label -> pseudo-label boxes written.
        duplicates_dropped: list of {"path", "kept"}: near-duplicate copies left out.
        skipped: list of {"path", "source", "reason"}: images that could not be read.
        synthetic_images: synthetic flyposting images written (train split only; included in ``images``).
        synthetic_boxes: label -> boxes on synthetic images (included in ``label_boxes``).
        synthetic_fonts: font files the synthetic ads were rendered with.
        clusters: image file stem -> its split component (``datasets.split.components``): photos that are not
            independent evidence (copies, one street run, one bin point); evaluation resamples whole clusters.
        seconds: wall time of the build.
    """

    out: Path
    fractions: tuple[float, float, float]
    max_distance: int
    pseudo_model: str | None
    pseudo_conf: float
    images: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    label_images: dict[str, dict[str, int]] = field(
        default_factory=lambda: {s: dict.fromkeys(LABEL_NAMES, 0) for s in SPLITS}
    )
    label_boxes: dict[str, dict[str, int]] = field(
        default_factory=lambda: {s: dict.fromkeys(LABEL_NAMES, 0) for s in SPLITS}
    )
    sources: dict[str, dict[str, object]] = field(default_factory=dict)
    pseudo: dict[str, int] = field(default_factory=lambda: dict.fromkeys(sorted(PSEUDO_LABELS), 0))
    pseudo_by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicates_dropped: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    synthetic_images: int = 0
    synthetic_boxes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABEL_NAMES, 0))
    synthetic_fonts: list[str] = field(default_factory=list)
    clusters: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, split: str, ids: npt.NDArray[np.int32]) -> None:
        """Add one image with boxes of taxonomy ids ``ids`` (M,) to the per-label counts of ``split``."""
        for c in set(ids.tolist()):
            self.label_images[split][LABEL_NAMES[c]] += 1
        for c in ids.tolist():
            self.label_boxes[split][LABEL_NAMES[c]] += 1

    @property
    def unavailable(self) -> list[str]:
        """Labels with no box in any split: the trained model cannot learn them from this dataset."""
        return [name for name in LABEL_NAMES if not any(self.label_boxes[s][name] for s in SPLITS)]

    def to_json(self) -> dict[str, object]:
        """The card as JSON-compatible data (``card.json``)."""
        return {
            "out": str(self.out),
            "fractions": dict(zip(SPLITS, self.fractions, strict=True)),
            "dedup_max_distance_bits": self.max_distance,
            "pseudo_model": self.pseudo_model,
            "pseudo_conf": self.pseudo_conf,
            "images": self.images,
            "label_images": self.label_images,
            "label_boxes": self.label_boxes,
            "unavailable": self.unavailable,
            "sources": self.sources,
            "pseudo": self.pseudo,
            "pseudo_by_source": self.pseudo_by_source,
            "duplicates_dropped": self.duplicates_dropped,
            "skipped": self.skipped,
            "synthetic_images": self.synthetic_images,
            "synthetic_boxes": self.synthetic_boxes,
            "synthetic_prefix": SYNTH_PREFIX,
            "synthetic_fonts": self.synthetic_fonts,
            "clusters": self.clusters,
            "seconds": round(self.seconds, 1),
        }

    def summary_table(self) -> str:
        """Per-label images/boxes per split, plain text for the terminal."""
        head = f"{'label':<14}" + "".join(f"{s + ' img/box':>18}" for s in SPLITS) + f"{'pseudo':>9}"
        lines = [head, "-" * len(head)]
        for name in LABEL_NAMES:
            cells = "".join(f"{self.label_images[s][name]:>10}/{self.label_boxes[s][name]:<7}" for s in SPLITS)
            pseudo = self.pseudo.get(name)
            lines.append(f"{name:<14}{cells}{'' if pseudo is None else pseudo:>9}")
        lines.append(f"{'images':<14}" + "".join(f"{self.images[s]:>10}{'':8}" for s in SPLITS))
        lines.append(
            f"{sum(self.images.values())} images written to {self.out} in {self.seconds:.1f} s; "
            f"{len(self.duplicates_dropped)} near-duplicates dropped, {len(self.skipped)} unreadable images skipped"
        )
        if self.unavailable:
            lines.append(f"unavailable (no training data): {', '.join(self.unavailable)}")
        return "\n".join(lines)

    def markdown(self) -> str:
        """The dataset card (``README.md``)."""
        f = dict(zip(SPLITS, self.fractions, strict=True))
        md = [
            "# GridWatch detector dataset",
            "",
            "Built by `gridwatch dataset build` from the labelled real photos in `shared/data`. "
            "Ultralytics YOLO layout; `data.yaml` lists all taxonomy labels.",
            "",
            "## Images and boxes per split",
            "",
            "| label | " + " | ".join(f"{s} images | {s} boxes" for s in SPLITS) + " |",
            "|---|" + "---:|" * (2 * len(SPLITS)),
        ]
        for name in LABEL_NAMES:
            cells = " | ".join(f"{self.label_images[s][name]} | {self.label_boxes[s][name]}" for s in SPLITS)
            md.append(f"| {name} | {cells} |")
        md.append("| **all images** | " + " | ".join(f"{self.images[s]} | " for s in SPLITS) + "|")
        md += ["", "## Unavailable labels", ""]
        md += [f"- {name}: unavailable: no training data" for name in self.unavailable] or ["None."]
        md += [
            "",
            "## Sources",
            "",
            "| source | " + " | ".join(SPLITS) + " | licence | origin |",
            "|---|" + "---:|" * len(SPLITS) + "---|---|",
        ]
        for name, info in self.sources.items():
            counts = info["images"]
            assert isinstance(counts, dict)
            md.append(
                f"| {name} | "
                + " | ".join(str(counts.get(s, 0)) for s in SPLITS)
                + f" | {info['licence']} | {info['origin']} |"
            )
        md += [
            "",
            "Sources whose licence is not stated are for research and training only; say so wherever a model "
            "trained on this dataset is described.",
            "",
            "## Pseudo-labels",
            "",
        ]
        if self.pseudo_model is None:
            md.append("None: built without a pseudo-labelling model.")
        else:
            md.append(
                f"COCO detector `{self.pseudo_model}` at score >= {self.pseudo_conf}, for "
                f"{', '.join(sorted(PSEUDO_LABELS))}, never for a label the image's source annotates itself."
            )
            md += ["", "| label | boxes |", "|---|---:|"]
            md += [f"| {name} | {n} |" for name, n in self.pseudo.items()]
        md += [
            "",
            "## Splits and duplicates",
            "",
            f"Target fractions train {f['train']}, val {f['val']}, test {f['test']}, met per component, not per "
            "image: images sharing a group key (copies of one photo, one street run) or a near-duplicate hash "
            "(dhash within "
            f"{self.max_distance} bits, across sources) always share a split, chosen by sha256 of the "
            "component's smallest group key.",
            "",
            f"Near-duplicate copies dropped: {len(self.duplicates_dropped)} (same source, within the threshold of a"
            " kept image; cross-source look-alikes only share a split).",
            "",
            f"Unreadable images skipped: {len(self.skipped)}",
        ]
        md += [f"- `{s['path']}`: {s['reason']}" for s in self.skipped]
        md += [
            "",
            "## Synthetic images (train only)",
            "",
        ]
        if self.synthetic_images:
            md.append(
                f"{self.synthetic_images} synthetic flyposting images (`{SYNTH_PREFIX}_*`, counted in the train "
                f"column above) carry {self.synthetic_boxes['poster']} `poster` boxes: Chinese small ads and "
                "posters rendered by `datasets/flyposting.py` and pasted onto train-split photos of "
                f"{', '.join(SYNTH_BACKGROUNDS)}, with those photos' pseudo-labels. Fonts: "
                f"{', '.join(self.synthetic_fonts)}. They never enter val or test; no real labelled poster "
                "exists here, so `poster` cannot be evaluated on real images from this dataset."
            )
        else:
            md.append("None.")
        md += [
            "",
            "## Not included",
            "",
            "Labels a source does not annotate count as background on its images (Ultralytics has no "
            "'unknown'), e.g. graffiti on bin photos; pseudo-labels cover only the COCO classes.",
            "",
        ]
        return "\n".join(md)


def _clear_or_refuse(out: Path, data_root: Path, overwrite: bool) -> None:
    """Make ``out`` an empty folder, deleting only what lies inside it."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    out_abs, data_abs = out.resolve(), data_root.resolve()
    if out_abs == data_abs or out_abs in data_abs.parents:
        raise ValueError(f"refusing to write into {out}: it contains the source data {data_root}")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ValueError(f"{out} is not empty; pass overwrite=True (--overwrite) to replace its contents")
        for child in out.iterdir():
            # Links are removed, never followed: nothing outside out may be deleted.
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _select(samples: Sequence[Sample], limit_per_source: int | None) -> list[Sample]:
    if limit_per_source is None:
        return list(samples)
    taken: Counter[str] = Counter()
    kept = []
    for sample in samples:
        if taken[sample.source] < limit_per_source:
            taken[sample.source] += 1
            kept.append(sample)
    return kept


def _pseudo_boxes(
    det: Detections, image: DecodedImage, sample: Sample, conf: float
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Taxonomy ids (M,) and normalised xywh boxes (M, 4) for the detections usable as pseudo-labels.

    ``det.xyxy`` is in photo pixels; it is divided by the photo's width and height.
    """
    names = det.labels
    keep = [
        i
        for i, (name, score) in enumerate(zip(names, det.score.tolist(), strict=True))
        if name in PSEUDO_LABELS and name not in sample.labelled and score >= conf
    ]
    if not keep:
        return np.zeros(0, np.int32), np.zeros((0, 4), np.float32)
    xyxy = det.xyxy[keep] / np.array([image.width, image.height] * 2, np.float32)
    xyxy = np.clip(xyxy, 0.0, 1.0)
    xywh = np.concatenate(((xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]), axis=1)
    ids = np.array([_LABEL_INDEX[names[i]] for i in keep], np.int32)
    valid = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)  # boxes clipped to nothing at the border
    return ids[valid], xywh[valid].astype(np.float32)


def _write_yaml(out: Path) -> None:
    # JSON strings are valid YAML double-quoted scalars, so no YAML library is needed.
    lines = [
        f"path: {json.dumps(str(out))}",
        "train: images/train",
        "val: images/val",
        "test: images/test",
        "names:",
    ]
    lines += [f"  {i}: {json.dumps(name)}" for i, name in enumerate(LABEL_NAMES)]
    (out / "data.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _yolo_lines(ids: npt.NDArray[np.int32], xywhn: npt.NDArray[np.float32]) -> str:
    return "".join(
        f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, (x, y, w, h) in zip(ids.tolist(), xywhn.tolist(), strict=True)
    )


def _write_synthetic(
    data_root: Path,
    out: Path,
    backgrounds: Sequence[tuple[Sample, npt.NDArray[np.int32], npt.NDArray[np.float32]]],
    count: int,
    fonts: Sequence[Path],
    seed: int,
    report: BuildReport,
) -> None:
    """Write ``count`` synthetic flyposting images to the train split, cycling over ``backgrounds``."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(backgrounds))
    poster = LABEL_NAMES.index("poster")
    report.synthetic_fonts = [f.name for f in fonts]
    for i in range(count):
        sample, p_ids, p_boxes = backgrounds[int(order[i % len(order)])]
        label_file = label_path(data_root / sample.source, sample.image)
        # Never paste over people or vehicles: ads go on walls, doors and poles.
        p_xyxy = np.concatenate((p_boxes[:, :2] - p_boxes[:, 2:] / 2, p_boxes[:, :2] + p_boxes[:, 2:] / 2), axis=1)
        avoid = np.concatenate((read_avoid_boxes(label_file, SYNTH_BACKGROUNDS[sample.source]), p_xyxy)).astype(
            np.float32
        )
        pixels, boxes = synthesize(Background(sample.image, avoid), fonts, rng)
        h, w = pixels.shape[:2]
        xyxy = boxes / np.array([w, h, w, h], np.float32)
        xywh = np.concatenate(((xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]), axis=1)
        ids = np.concatenate((np.full(len(xywh), poster, np.int32), p_ids))
        name = f"{SYNTH_PREFIX}_{i:05d}__{sample.source}__{sample.image.stem}"
        if not cv2.imwrite(str(out / "images" / "train" / f"{name}.jpg"), pixels, [cv2.IMWRITE_JPEG_QUALITY, 85]):
            raise OSError(f"cannot write {name}.jpg in {out}")
        (out / "labels" / "train" / f"{name}.txt").write_text(
            _yolo_lines(ids, np.concatenate((xywh, p_boxes)).astype(np.float32)), encoding="utf-8"
        )
        report.images["train"] += 1
        report.synthetic_images += 1
        report.count("train", ids)
        for c in ids.tolist():
            report.synthetic_boxes[LABEL_NAMES[c]] += 1


def build_dataset(
    data_root: Path,
    out: Path,
    *,
    sources: Sequence[str] | None = None,
    detector: Detector | None,
    pseudo_conf: float = 0.4,
    max_distance: int = DEFAULT_MAX_DISTANCE,
    limit_per_source: int | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    synthetic: int = 0,
    seed: int = 0,
) -> BuildReport:
    """Write a YOLO dataset from ``data_root`` into ``out``; see the module docstring.

    Args:
        data_root: the ``shared/data`` folder (one folder per source of :data:`datasets.sources.SOURCES`).
        out: dataset folder to create; must be empty or missing unless ``overwrite``.
        sources: source names to include (default: all).
        detector: COCO model for pseudo-labels of person/car/truck/bus/motorcycle/bicycle, or None for none.
        pseudo_conf: minimum detector score (0..1) for a pseudo-label.
        max_distance: dhash Hamming distance (bits) up to which two images are near-duplicates.
        limit_per_source: take at most this many images of each source (first by path), for quick builds.
        fractions: target (train, val, test) shares.
        overwrite: clear a non-empty ``out`` first (only its contents are deleted).
        progress: called as ``progress(done, total)`` while images are read.
        synthetic: synthetic flyposting images to add to the train split (0: none); needs a CJK font.
        seed: random seed of the synthetic images.

    Raises:
        ValueError: non-empty ``out`` without ``overwrite``, bad fractions, or a malformed label line.
        KeyError, FileNotFoundError: unknown or missing source.
    """
    start = time.monotonic()
    fracs = validate_fractions(fractions)
    if not 0.0 <= pseudo_conf <= 1.0:
        raise ValueError(f"pseudo_conf must be in [0, 1], got {pseudo_conf}")
    if limit_per_source is not None and limit_per_source < 1:
        raise ValueError(f"limit_per_source must be at least 1, got {limit_per_source}")
    if synthetic < 0:
        raise ValueError(f"synthetic must be >= 0, got {synthetic}")
    fonts = find_cjk_fonts() if synthetic else []  # fail before any work when no font is installed
    # Read all label files before touching out, so a malformed source cannot leave half a dataset.
    samples = _select(list(iter_samples(data_root, sources)), limit_per_source)
    _clear_or_refuse(out, data_root, overwrite)
    out = out.resolve()
    report = BuildReport(
        out=out,
        fractions=fracs,
        max_distance=max_distance,
        pseudo_model=None if detector is None else f"{detector.path.name} (sha256 {detector.info.sha256[:12]})",
        pseudo_conf=pseudo_conf,
    )

    # Pass 1: decode each image once (in batches, so only DETECT_BATCH images are held at a time).
    readable: list[Sample] = []
    hashes: list[int] = []
    extra: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]] = []
    for begin in range(0, len(samples), DETECT_BATCH):
        batch: list[tuple[Sample, DecodedImage]] = []
        for sample in samples[begin : begin + DETECT_BATCH]:
            try:
                image = read_image(sample.image)
            except (ImageError, OSError) as exc:
                report.skipped.append({"path": str(sample.image), "source": sample.source, "reason": str(exc)})
                continue
            batch.append((sample, image))
        dets = detector.detect([img for _, img in batch]) if detector is not None and batch else []
        for i, (sample, image) in enumerate(batch):
            readable.append(sample)
            hashes.append(dhash(image.pixels))
            extra.append(
                _pseudo_boxes(dets[i], image, sample, pseudo_conf)
                if dets
                else (np.zeros(0, np.int32), np.zeros((0, 4), np.float32))
            )
        if progress is not None:
            progress(min(begin + DETECT_BATCH, len(samples)), len(samples))

    # Pass 2: duplicates and splits over everything readable, across sources.
    dup = find_duplicates(np.array(hashes, dtype=np.uint64), max_distance)
    overrides = {name: spec.fractions for name, spec in SOURCES.items() if spec.fractions is not None}
    generation = {name: spec.generation for name, spec in SOURCES.items()}
    keys = components([s.group for s in readable], dup, generation)
    splits = splits_of(keys, fracs, overrides)

    for split in SPLITS:
        (out / "images" / split).mkdir(parents=True)
        (out / "labels" / split).mkdir(parents=True)
    # Chained near-duplicate links only decide splits (no leakage). A copy is dropped only when it is itself
    # within max_distance of a kept image of the same source: plain, low-texture photos of different
    # sources can collide under dhash, and chains can join images far apart.
    kept_by_dup: dict[tuple[int, str], list[tuple[int, Sample]]] = defaultdict(list)
    used_names: set[str] = set()
    backgrounds: list[tuple[Sample, npt.NDArray[np.int32], npt.NDArray[np.float32]]] = []
    source_counts: dict[str, Counter[str]] = defaultdict(Counter)
    for sample, image_hash, dup_id, split, key, (p_ids, p_boxes) in zip(
        readable, hashes, dup.tolist(), splits.tolist(), keys, extra, strict=True
    ):
        kept = kept_by_dup[int(dup_id), sample.source]
        twin = next((k for h, k in kept if hamming(h, image_hash) <= max_distance), None)
        if twin is not None:
            report.duplicates_dropped.append({"path": str(sample.image), "kept": str(twin.image)})
            continue
        kept.append((image_hash, sample))
        stem = f"{sample.source}__{sample.image.stem}"
        name, n = stem, 1
        while name in used_names:  # same file name in two folders of one source
            n += 1
            name = f"{stem}__{n}"
        used_names.add(name)
        # Original bytes: re-encoding would add a second round of JPEG loss.
        shutil.copyfile(sample.image, out / "images" / split / f"{name}{sample.image.suffix.lower()}")
        report.clusters[name] = key
        ids = np.concatenate((sample.class_id, p_ids))
        boxes = np.concatenate((sample.xywhn, p_boxes))
        (out / "labels" / split / f"{name}.txt").write_text(_yolo_lines(ids, boxes), encoding="utf-8")

        report.images[split] += 1
        source_counts[sample.source][split] += 1
        report.count(split, ids)
        if split == "train" and sample.source in SYNTH_BACKGROUNDS:
            backgrounds.append((sample, p_ids, p_boxes))
        for c in p_ids.tolist():
            report.pseudo[LABEL_NAMES[c]] += 1
            by_source = report.pseudo_by_source.setdefault(sample.source, {})
            by_source[LABEL_NAMES[c]] = by_source.get(LABEL_NAMES[c], 0) + 1

    for name in dict.fromkeys(s.source for s in samples):
        spec = SOURCES[name]
        report.sources[name] = {
            "images": {s: source_counts[name][s] for s in SPLITS},
            "licence": spec.licence,
            "origin": spec.origin,
        }
    if synthetic:
        if not backgrounds:
            raise ValueError(f"no train-split background for synthetic images: include {', '.join(SYNTH_BACKGROUNDS)}")
        _write_synthetic(data_root, out, backgrounds, synthetic, fonts, seed, report)
    _write_yaml(out)
    report.seconds = time.monotonic() - start
    (out / "card.json").write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    (out / "README.md").write_text(report.markdown(), encoding="utf-8")
    return report
