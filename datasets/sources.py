"""The labelled real-image sources in ``shared/data`` and how their classes map onto GridWatch's labels.

Each source folder has its own layout, class list and annotation habits. This module turns every
image of a source into a :class:`Sample` carrying taxonomy class ids, normalised YOLO boxes, a
group key (photos that must land in one split share it) and the set of labels the source annotates
exhaustively, so that the builder can tell "absent" from "unknown" when it mixes sources.

Malformed-line policy: every label line in the shared data was audited (about 18 400 lines over the 9 boxed
sources, December 2026): none has a wrong column count, a non-numeric field or an unknown class id, and one
(a smartathon_vp box converted from the source's CSV, 1.71 image widths wide) has a coordinate outside
[0, 1]. So a malformed line means a broken copy or a new, unreviewed source, and parsing raises a
``ValueError`` naming the file and line instead of quietly dropping boxes (a dropped box of an
exhaustively labelled class would turn into a false "absent"). Sources whose boxes are known to be loose
(``SourceSpec.clip_boxes``) have box lines reaching past the image clipped to it instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from domain.taxonomy import LABEL_NAMES
from vision.sources import IMAGE_SUFFIXES

# Roboflow rounds coordinates to 6-16 digits; anything further out than this is a real error.
COORD_TOLERANCE = 1e-3
# graffiti_gr: shots along one street run are seconds apart (median gap 32 s, 75th percentile 83 s);
# a gap of 2 minutes or more is where the photographer moved on. 120 s gives 81 runs of 1-58
# photos over the 623 timestamped images (December 2026 data; at the first 482: 82 runs of 1-43).
GRAFFITI_RUN_GAP_S = 120.0
# graffiti_gr also has 18 images named by camera counter (IMG_1230 ... IMG_1311): counters at most
# this far apart are treated as one run (they form two runs, 1230-1248 and 1292-1311).
GRAFFITI_COUNTER_GAP = 10

_ROBOFLOW_STEM = re.compile(r"^(?P<name>.*)_(?:jpe?g|png|webp|bmp)\.rf\.[0-9a-fA-F]+$")
_TIMESTAMP_STEM = re.compile(r"^IMG_(?P<ts>\d{8}_\d{6})$")
_COUNTER_STEM = re.compile(r"^IMG_(?P<n>\d{1,6})$")
_EPOCH_MS_STEM = re.compile(r"^.*_(?P<ms>\d{13})$")
# amsterdam_reports: photos of one report are taken minutes apart; an hour separates different reports.
REPORT_RUN_GAP_S = 3600.0

Int32Array = npt.NDArray[np.int32]
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Sample:
    """One image of a source with its labels mapped to the taxonomy.

    Attributes:
        image: path of the image file.
        source: source folder name, e.g. ``"graffiti_gr"``.
        group: split-group key; images sharing it (Roboflow copies of one photo, shots of one street
            run) must go to the same split.
        class_id: (N,) int32 indices into ``taxonomy.LABEL_NAMES``; N may be 0.
        xywhn: (N, 4) float32 boxes as YOLO centre x, centre y, width, height, normalised to the image
            size (0..1).
        labelled: taxonomy labels this source annotates exhaustively: no box of such a label means the
            thing is absent; other labels are unknown on this image.
    """

    image: Path
    source: str
    group: str
    class_id: Int32Array
    xywhn: Float32Array
    labelled: frozenset[str]

    @property
    def names(self) -> tuple[str, ...]:
        """Taxonomy label name of each box, in box order."""
        return tuple(LABEL_NAMES[i] for i in self.class_id)


GroupFn = Callable[[str, Sequence[Path]], list[str]]


def roboflow_group(source: str, image: Path) -> str:
    """Group key ``source/NAME`` for a Roboflow export ``NAME_jpg.rf.HASH.jpg``, else ``source/stem``.

    Roboflow's augmented copies of one photo differ only in HASH, so they share the key.
    """
    match = _ROBOFLOW_STEM.match(image.stem)
    return f"{source}/{match['name'] if match else image.stem}"


def _per_image_groups(source: str, images: Sequence[Path]) -> list[str]:
    return [roboflow_group(source, image) for image in images]


def chain_groups(values: Sequence[float], max_gap: float) -> list[int]:
    """Run index per value: sorted values closer than ``max_gap`` to their predecessor share a run.

    Args:
        values: (N,) positions on one axis (seconds, counter numbers), in any order.
        max_gap: neighbours strictly closer than this are chained into one run.

    Returns:
        (N,) run indices in input order, numbered 0.. in ascending order of value.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return []
    order = np.argsort(arr, kind="stable")
    starts = np.concatenate(([True], np.diff(arr[order]) >= max_gap))
    runs = np.empty(arr.size, dtype=np.int64)
    runs[order] = np.cumsum(starts) - 1
    return [int(r) for r in runs]


def graffiti_run_groups(source: str, images: Sequence[Path]) -> list[str]:
    """Group keys for graffiti_gr: one key per street run, named after the run's first photo.

    Timestamped names (``IMG_YYYYMMDD_HHMMSS``) are chained by :data:`GRAFFITI_RUN_GAP_S`, counter
    names (``IMG_NNNN``) by :data:`GRAFFITI_COUNTER_GAP`; any other name is a group of its own.
    """
    keys = [roboflow_group(source, image) for image in images]
    for pattern, parse, gap in (
        (_TIMESTAMP_STEM, lambda s: datetime.strptime(s, "%Y%m%d_%H%M%S").timestamp(), GRAFFITI_RUN_GAP_S),
        (_COUNTER_STEM, float, float(GRAFFITI_COUNTER_GAP)),
    ):
        idx: list[int] = []
        vals: list[float] = []
        for i, image in enumerate(images):
            match = pattern.match(image.stem)
            if match:
                idx.append(i)
                vals.append(parse(match.group(1)))
        runs = chain_groups(vals, gap)
        first: dict[int, tuple[float, str]] = {}
        for i, val, run in zip(idx, vals, runs, strict=True):
            if run not in first or val < first[run][0]:
                first[run] = (val, images[i].stem)
        for i, run in zip(idx, runs, strict=True):
            keys[i] = f"{source}/run-{first[run][1]}"
    return keys


def report_time_groups(source: str, images: Sequence[Path]) -> list[str]:
    """Group keys for report photos named ``..._EPOCHMS``: photos taken within an hour of each other share one.

    Public-space reports of one spot are often photographed again minutes later (by the reporter, then by the
    crew); such photos must not straddle splits. Names without a 13-digit millisecond timestamp stay alone.
    """
    keys = [roboflow_group(source, image) for image in images]
    idx = [i for i, image in enumerate(images) if _EPOCH_MS_STEM.match(image.stem)]
    stamps = [int(_EPOCH_MS_STEM.match(images[i].stem)["ms"]) / 1000.0 for i in idx]  # type: ignore[index]
    runs = chain_groups(stamps, REPORT_RUN_GAP_S)
    first: dict[int, str] = {}
    for i, run in sorted(zip(idx, runs, strict=True), key=lambda pair: images[pair[0]].stem):
        first.setdefault(run, images[i].stem)
    for i, run in zip(idx, runs, strict=True):
        keys[i] = f"{source}/run-{first[run]}"
    return keys


@dataclass(frozen=True)
class SourceSpec:
    """How one source folder maps onto the taxonomy.

    Attributes:
        name: folder name under the data root.
        classes: source class id -> taxonomy label name, or None to drop boxes of that class.
        labelled: taxonomy labels annotated exhaustively (see :class:`Sample`).
        groups: group key per image, given the source name and all its images (sorted paths).
        note: why the mapping is what it is.
        origin: where the data comes from, ``owner/repo @ commit`` as in ``shared/README.md``.
        licence: the licence the source states, or why there is none to cite (goes on the dataset card).
        clip_boxes: box lines reaching past the image are clipped to it instead of refused (sources whose
            boxes were converted from pixel tables and are known to be loose).
        boxes_file: a reviewed file (:class:`datasets.reviewed_boxes.ReviewedSource`, path relative to this
            package) holding the source's boxes, for sources that came without label files.
        fractions: (train, val, test) shares for this source's images instead of the build's; a small source
            needs a larger test share to be measurable.
        generation: when the source joined the data (0: the first nine, 1: December 2026, ...); a later
            source never moves an older one's images to another split (:func:`datasets.split.components`).
    """

    name: str
    classes: Mapping[int, str | None]
    labelled: frozenset[str]
    groups: GroupFn = field(default=_per_image_groups)
    note: str = ""
    origin: str = ""
    licence: str = ""
    clip_boxes: bool = False
    boxes_file: str | None = None
    fractions: tuple[float, float, float] | None = None
    generation: int = 0


def _spec(
    name: str,
    classes: dict[int, str | None],
    labelled: set[str],
    note: str,
    groups: GroupFn = _per_image_groups,
    *,
    origin: str,
    licence: str,
    clip_boxes: bool = False,
    boxes_file: str | None = None,
    fractions: tuple[float, float, float] | None = None,
    generation: int = 0,
) -> SourceSpec:
    return SourceSpec(
        name,
        MappingProxyType(classes),
        frozenset(labelled),
        groups,
        note,
        origin,
        licence,
        clip_boxes,
        boxes_file,
        fractions,
        generation,
    )


SOURCES: Mapping[str, SourceSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _spec(
                "garbage_bin_overflow_cn",
                {0: "garbage", 1: "bin", 2: "bin_overflow"},
                {"garbage", "bin", "bin_overflow"},
                "Chinese bin points; overflow boxes sit on the bin, as our bin_overflow does.",
                origin="ATANU0023/garbage_detection_dataset @ 1e9fc55",
                licence="CC BY 4.0",
            ),
            _spec(
                "garbage_street",
                # Class 0 "Images" is a junk class of the export (two boxes, one a polygon).
                {0: None, 1: "garbage"},
                {"garbage"},
                "Street heaps around containers; containers are not boxed, so bin is unknown.",
                origin="alan61503/garbage-overflow-detection @ ce3d252",
                licence="CC BY 4.0",
            ),
            _spec(
                "maltese_trashbags",
                {0: "garbage", 1: "garbage", 2: "garbage", 3: "garbage"},
                {"garbage"},
                "Bag colours (organic/recycling/mixed/other) all lie on the pavement: exposed garbage.",
                origin="SaulVas/ARI3129 @ e88068f",
                licence="not stated: research and training only",
            ),
            _spec(
                "woosong_trashbags",
                {0: "garbage", 1: "garbage"},
                {"garbage"},
                "Segmentation polygons; boxes are the polygons' min/max.",
                origin="itsCaveMan/WoosongVision @ 33a6b88",
                licence="CC BY 4.0 (repo Unlicense)",
            ),
            _spec(
                "graffiti_gr",
                {0: "graffiti"},
                {"graffiti"},
                "Photos in runs along streets: neighbouring shots share a group.",
                graffiti_run_groups,
                origin="dinhdung6/Yolo-graffiti-detection @ 9448120 (images from Zenodo record 3238357)",
                licence="not verified",
            ),
            _spec(
                "graffiti_negatives",
                {},
                {"graffiti"},
                "Walls and doors without graffiti: hard negatives, no label files.",
                origin="smr2002/graffiti @ 3e2abab",
                licence="CC BY 4.0",
            ),
            _spec(
                "facades_spb",
                # Windows, cantilever/arch signs, signboards, window ads and doors are legal facade
                # elements, none of them a GridWatch label.
                {0: None, 1: None, 2: None, 3: None, 4: None, 5: None},
                # Not claimed as poster negatives: in 24 images looked at, several shop windows carry
                # paper posters and sandwich boards (class 4 win_ad), and at 560 px small flyers on doors
                # and drainpipes cannot be ruled out. Graffiti was never annotated either.
                set(),
                "St Petersburg facades with legal signage; backgrounds for synthetic flyposting.",
                origin="Urban-Research-Lab/building-facades-advertising-dataset @ 9782a3e",
                licence="CC0 1.0",
            ),
            _spec(
                "smartathon_vp",
                {
                    0: None,  # BAD_BILLBOARD: framed outdoor advertising, not a poster
                    1: None,  # BROKEN_SIGNAGE
                    2: "debris",  # CLUTTER_SIDEWALK
                    3: "debris",  # CONSTRUCTION_ROAD: piled construction material
                    4: None,  # FADED_SIGNAGE
                    5: "garbage",
                    6: "graffiti",
                    7: None,  # POTHOLES
                    8: None,  # SAND_ON_ROAD
                    9: None,  # UNKEPT_FACADE
                },
                {"garbage", "graffiti", "debris"},
                "Vehicle-camera street scenes; boxes are loose (often far larger than the object).",
                origin="kalthommusa/Visual-Pollution-Object-Detection @ 0444122",
                licence="not stated: research and training only",
                clip_boxes=True,
            ),
            _spec(
                "bicycle_rf2000",
                {0: "bicycle"},
                {"bicycle"},
                "Bicycles parked on pavements; motorcycles and e-bikes are not boxed.",
                origin="ShaminAsfaq/PythonProject-YOLO @ fee4a16",
                licence="CC BY 4.0",
            ),
            _spec(
                "amsterdam_reports",
                {},
                {"debris", "garbage"},
                "Amsterdam public-space report photos of dumped bulky waste; debris and garbage boxed by eye here "
                "(datasets/reviewed/amsterdam_reports.json); the only real dumped-furniture photos, so a large "
                "share is kept for test.",
                report_time_groups,
                origin="dfayzur/garbage-object-detection @ 5d72cd2 (City of Amsterdam public-space report photos)",
                licence="freely available for reuse (City of Amsterdam, per the repository README); boxes: ours",
                boxes_file="reviewed/amsterdam_reports.json",
                fractions=(0.5, 0.15, 0.35),
                generation=1,
            ),
        )
    }
)

_LABEL_INDEX = {name: i for i, name in enumerate(LABEL_NAMES)}


def label_path(folder: Path, image: Path) -> Path:
    """The YOLO label file for ``image`` of source ``folder``: its last ``images`` folder becomes ``labels``.

    Only folders below the source folder are looked at; without an ``images`` folder the label file
    would sit next to the image.
    """
    parts = list(image.relative_to(folder).parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return folder.joinpath(*parts).with_suffix(".txt")


def parse_label_file(path: Path, spec: SourceSpec) -> tuple[Int32Array, Float32Array]:
    """Read one YOLO label file and map it to the taxonomy.

    Accepts box lines ``cls cx cy w h`` and polygon lines ``cls x1 y1 x2 y2 ...`` (at least three
    points; converted to the enclosing box), mixed freely as Roboflow exports them. Boxes of classes
    mapped to None are dropped after validation.

    Returns:
        class_id (N,) int32 taxonomy indices and xywhn (N, 4) float32 normalised boxes.

    Raises:
        ValueError: naming the file and 1-based line for a wrong column count, a non-numeric field, a
            class id the source does not have, or a coordinate outside [0, 1] beyond a small tolerance.
    """
    ids: list[int] = []
    boxes: list[Float32Array] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue

        def fail(why: str, lineno: int = lineno, line: str = line) -> ValueError:
            return ValueError(f"{path}:{lineno}: {why}: {line.strip()[:120]!r}")

        n = len(fields)
        if n != 5 and (n < 7 or n % 2 == 0):
            raise fail(f"expected 5 columns (class cx cy w h) or a class and 3+ x y pairs, got {n} columns")
        try:
            src_class = int(fields[0])
            coords = np.array(fields[1:], dtype=np.float64)
        except ValueError:
            raise fail("non-numeric field") from None
        if src_class not in spec.classes:
            raise fail(f"unknown class id {src_class} for {spec.name} (known: {sorted(spec.classes)})")
        if n == 5 and spec.clip_boxes and np.all(np.isfinite(coords)):
            # A loose box reaching past the image: keep its part inside (corners clipped, back to centre form).
            lo = np.clip(coords[:2] - coords[2:] / 2, 0.0, 1.0)
            hi = np.clip(coords[:2] + coords[2:] / 2, 0.0, 1.0)
            coords = np.concatenate(((lo + hi) / 2, hi - lo))
        # Written so that NaN fails too.
        if not np.all((coords >= -COORD_TOLERANCE) & (coords <= 1 + COORD_TOLERANCE)):
            raise fail("coordinate outside [0, 1]")
        coords = np.clip(coords, 0.0, 1.0)
        if n == 5:
            box = coords
        else:
            xy = coords.reshape(-1, 2)
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            box = np.concatenate(((lo + hi) / 2, hi - lo))
        target = spec.classes[src_class]
        if target is not None:
            ids.append(_LABEL_INDEX[target])
            boxes.append(box.astype(np.float32))
    class_id = np.array(ids, dtype=np.int32)
    xywhn = np.stack(boxes).astype(np.float32) if boxes else np.zeros((0, 4), dtype=np.float32)
    return class_id, xywhn


def source_images(root: Path, source: str) -> list[Path]:
    """All images of a source folder, in every split folder it has, sorted by path."""
    folder = root / source
    if not folder.is_dir():
        raise FileNotFoundError(f"source folder {folder} does not exist")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def iter_samples(root: Path, sources: Sequence[str] | None = None) -> Iterator[Sample]:
    """Yield every image of the given sources (all of :data:`SOURCES` by default) as a :class:`Sample`.

    Images are paired with ``labels/.../NAME.txt`` next to ``images/.../NAME.jpg``; an image without a
    label file has no boxes.

    Raises:
        KeyError: for a source name not in :data:`SOURCES`.
        FileNotFoundError: for a source folder missing under ``root``.
        ValueError: for a malformed label line (see :func:`parse_label_file`).
    """
    for name in SOURCES if sources is None else sources:
        if name not in SOURCES:
            raise KeyError(f"unknown source {name!r}; sources are {', '.join(SOURCES)}")
        spec = SOURCES[name]
        images = source_images(root, name)
        reviewed = reviewed_source_boxes(spec, images) if spec.boxes_file else None
        for image, group in zip(images, spec.groups(name, images), strict=True):
            label_file = label_path(root / name, image)
            if reviewed is not None:
                class_id, xywhn = reviewed[image.name]
            elif label_file.is_file():
                class_id, xywhn = parse_label_file(label_file, spec)
            else:
                class_id, xywhn = np.zeros(0, dtype=np.int32), np.zeros((0, 4), dtype=np.float32)
            class_id.setflags(write=False)
            xywhn.setflags(write=False)
            yield Sample(image, name, group, class_id, xywhn, spec.labelled)


def upright_size(image: Path) -> tuple[int, int]:
    """(width, height) of an image as decoders show it: EXIF orientations 5-8 swap the stored sides."""
    from PIL import Image

    with Image.open(image) as im:
        width, height = im.size
        orientation = im.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def reviewed_source_boxes(spec: SourceSpec, images: Sequence[Path]) -> dict[str, tuple[Int32Array, Float32Array]]:
    """The boxes of a source boxed by eye here, per image file name, as taxonomy ids and normalised YOLO boxes.

    Ignore regions are dropped: a detector cannot be told "don't care" in training, and the few regions
    there (items of unclear kind) are left unlabelled rather than called absent or present.

    Raises:
        ValueError: the file is invalid, names another source, misses an image of the folder or names one
            that is not there, or has a box outside its image.
    """
    from datasets.reviewed_boxes import ReviewedSource, load_reviewed_file

    assert spec.boxes_file is not None
    path = Path(__file__).parent / spec.boxes_file
    reviewed = load_reviewed_file(path, ReviewedSource)
    if reviewed.source != spec.name:
        raise ValueError(f"{path}: boxes of source {reviewed.source!r}, expected {spec.name!r}")
    names = {image.name: image for image in images}
    missing, extra = sorted(set(names) - set(reviewed.images)), sorted(set(reviewed.images) - set(names))
    if missing or extra:
        raise ValueError(f"{path}: images not reviewed: {missing[:5]}; reviewed but not in the folder: {extra[:5]}")
    out: dict[str, tuple[Int32Array, Float32Array]] = {}
    for name, image in reviewed.images.items():
        width, height = upright_size(names[name])
        xyxy = np.array([box[1:] for box in image.boxes], np.float64).reshape(-1, 4)
        if np.any(xyxy[:, 2] > width + 1) or np.any(xyxy[:, 3] > height + 1):
            raise ValueError(f"{path}: {name}: a box reaches outside the {width}x{height} image")
        xyxy = np.clip(xyxy / np.array([width, height, width, height], np.float64), 0.0, 1.0)
        xywhn = np.concatenate(((xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]), axis=1)
        ids = np.array([_LABEL_INDEX[box[0]] for box in image.boxes], np.int32)
        out[name] = (ids, xywhn.astype(np.float32))
    return out
