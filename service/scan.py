"""``gridwatch scan``: a batch of patrol photos through detection and the photo-mode rules into cases.

Each photo is judged on its own (:func:`vision.rules.photo.photo_violations`) with the zones of where it was taken:
the named camera or place, else the place whose radius holds the photo's position (``--lat/--lon``, else its EXIF
GPS). Every sighting goes to the case manager with its evidence (original file, annotated frame, crop) and the
original file's sha256, so scanning the same photos again finds every sighting already there (outcome duplicate)
and opens no case. A photo that cannot be used is an error of its own; the batch goes on.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from domain.errors import GridWatchError, ScanError
from domain.taxonomy import Violation
from service.capture_time import TimeSource, capture_time
from service.cases.phones import PosterReading, attach_readings, read_poster
from service.cases.placement import locate
from service.cases.sightings import IngestResult, Outcome
from service.context import Context
from service.evidence_render import Mark, sighting_evidence, violation_label
from service.model_version import model_version
from service.store.evidence import EvidenceInput, sha256_hex
from vision.detector import Detector
from vision.exif import read_exif
from vision.imageio import DecodedImage, decode_image
from vision.pipeline import PhotoDetector, PhotoResult, detect_sources
from vision.rules.events import ViolationEvent
from vision.rules.photo import photo_violations
from vision.sources import Source, iter_sources


@dataclass(frozen=True)
class Sighting:
    """One violation found in a photo and what it did to the cases."""

    event: ViolationEvent
    case_id: int
    outcome: Outcome
    text: str = ""  # flyposting: what was read on the poster (blocks separated by a blank line)
    phones: tuple[str, ...] = ()  # flyposting: the phone numbers read on it, normalised


@dataclass(frozen=True)
class PhotoScan:
    """What happened to one photo: an error, or when and where it was taken and its sightings."""

    path: str
    error: str | None = None
    taken_at: datetime | None = None
    time_source: TimeSource | None = None  # where taken_at came from: EXIF, the file's mtime, or the scan time
    time_note: str | None = None  # why the EXIF time was passed over (implausible), None when it was not
    camera_id: str | None = None
    place_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    detections: int = 0
    sightings: tuple[Sighting, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The JSONL record of this photo (``{"path", "error"}`` for a failed one)."""
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        return {
            "path": self.path,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "time_source": self.time_source,
            "time_note": self.time_note,
            "camera": self.camera_id,
            "place": self.place_id,
            "lat": self.lat,
            "lon": self.lon,
            "detections": self.detections,
            "violations": [
                {
                    "violation": str(s.event.violation),
                    "label": s.event.label,
                    "rule": s.event.rule,
                    "confidence": round(s.event.confidence, 4),
                    "bbox": [round(v, 4) for v in s.event.bbox],
                    "zone": s.event.zone_id,
                    "case": s.case_id,
                    "outcome": str(s.outcome),
                    **({"text": s.text, "phones": list(s.phones)} if s.event.violation is Violation.FLYPOSTING else {}),
                }
                for s in self.sightings
            ],
        }

    def text(self) -> str:
        """One line for the text output."""
        if self.error is not None:
            return f"{self.path}: ERROR {self.error}"
        where = f" at {self.camera_id or self.place_id}" if self.camera_id or self.place_id else ""
        if not self.sightings:
            return f"{self.path}{where}: {self.detections} detections, no violation"
        found = "; ".join(
            f"{s.event.violation} {s.event.confidence:.2f} -> case {s.case_id} {s.outcome}" for s in self.sightings
        )
        return f"{self.path}{where}: {found}"


@dataclass
class ScanReport:
    """Totals over a batch."""

    photos: int = 0
    failed: int = 0
    violations: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    by_violation: Counter[Violation] = field(default_factory=Counter)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, message)

    def add(self, photo: PhotoScan) -> None:
        self.photos += 1
        if photo.error is not None:
            self.failed += 1
            self.errors.append((photo.path, photo.error))
            return
        self.violations += len(photo.sightings)
        self.outcomes.update(s.outcome for s in photo.sightings)
        self.by_violation.update(s.event.violation for s in photo.sightings)

    def summary(self) -> str:
        """One line: photos, failures, violations per type and what they did to the cases."""
        kinds = ", ".join(f"{n} {v}" for v, n in self.by_violation.most_common())
        cases = ", ".join(f"{self.outcomes[o]} {o}" for o in Outcome)
        return (
            f"{self.photos} photos, {self.failed} failed; {self.violations} violations"
            f"{f' ({kinds})' if kinds else ''}; cases: {cases}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "photos": self.photos,
            "failed": self.failed,
            "violations": self.violations,
            "cases": {str(o): self.outcomes[o] for o in Outcome},
            "by_violation": {str(v): n for v, n in self.by_violation.most_common()},
        }


ScanProgress = Callable[[PhotoScan, int, int], None]
"""Called after each photo with its outcome, the photos done and the photos in the batch."""


@dataclass(frozen=True)
class Where:
    """Where the whole batch was taken, as the command line or the upload says; all None: each photo's GPS decides."""

    camera_id: str | None
    place_id: str | None
    lat: float | None
    lon: float | None


class _Kept:
    """Reads a source once for the pipeline and keeps the bytes for hashing, EXIF and evidence.

    The pipeline holds a bounded window of decoded photos, and the scan drops each photo's bytes once it is done,
    so a folder of any size is scanned in bounded memory.
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self.data: bytes | None = None

    def read(self) -> bytes:
        assert self.source.read is not None  # only wired in for readable sources
        self.data = self.source.read()
        return self.data

    def wrapped(self) -> Source:
        if self.source.read is None:
            return self.source
        return Source(self.source.path, read=self.read)


def resolve_where(ctx: Context, camera: str | None, place: str | None, lat: float | None, lon: float | None) -> Where:
    """Check the location options against the site; raises :class:`ScanError`."""
    if (lat is None) != (lon is None):
        raise ScanError("--lat and --lon go together")
    if sum(x is not None for x in (camera, place, lat)) > 1:
        raise ScanError("name at most one of a camera, a place, or a position")
    if camera is not None and camera not in {c.id for c in ctx.site.cameras}:
        known = ", ".join(c.id for c in ctx.site.cameras) or "none"
        raise ScanError(f"unknown camera {camera!r} (the site has: {known})")
    if place is not None and place not in {p.id for p in ctx.site.places}:
        known = ", ".join(p.id for p in ctx.site.places) or "none"
        raise ScanError(f"unknown place {place!r} (the site has: {known})")
    if lat is not None and not (-90 <= lat <= 90 and lon is not None and -180 <= lon <= 180):
        raise ScanError(f"position out of range: lat {lat}, lon {lon}")
    return Where(camera, place, lat, lon)


def scan_photo(
    ctx: Context,
    result: PhotoResult,
    data: bytes | None,
    fixed: Where,
    then: Callable[[Session, PhotoScan], None] | None = None,
    *,
    local_file: bool = True,
) -> PhotoScan:
    """Judge one detected photo and ingest its sightings, all in one transaction.

    ``local_file``: whether the result's path names a file of this machine that the operator gave (the command
    line), whose modification time may stand in for a missing EXIF time. An upload's name is the client's label
    and never a path: reading it would let a client probe the server's files.

    ``then`` runs inside that transaction with the photo's outcome (not for a photo that could not be read, which
    touches no case). Raises :class:`GridWatchError` or ``OSError`` for a photo the case manager or the evidence
    folder refuses.
    """
    if result.detections is None or data is None:
        return PhotoScan(result.path, error=result.error or "unreadable")
    site = ctx.site
    exif = read_exif(data, site.calendar.tz)
    file = Path(result.path) if local_file else None
    when = capture_time(exif.taken_at, file, site.calendar.tz, ctx.manager.clock())
    taken_at = when.at
    lat, lon = fixed.lat, fixed.lon
    if fixed.camera_id is None and fixed.place_id is None and lat is None:  # nothing named: the photo's GPS
        lat, lon = exif.lat, exif.lon
    # Where the photo is, once: a still of a camera is told apart by the camera's boxes, as for its stream.
    where = locate(site, camera_id=fixed.camera_id, place_id=fixed.place_id, lat=lat, lon=lon)
    zones = where.zones
    events = photo_violations(result.detections, (result.width, result.height), taken_at, zones, cfg=site.rules)
    evidence: list[list[EvidenceInput]] = []
    readings: list[PosterReading] = []
    if events:
        image = decode_image(data)  # full size: the crop keeps every pixel of the thing
        marks = [Mark(e.bbox, violation_label(e.violation, f"{e.confidence:.2f}")) for e in events]
        evidence = [sighting_evidence(data, image, marks, i, zones) for i in range(len(events))]
        # The number on a small ad is what enforcement acts on: read it now, keep it with the sighting.
        readings = [
            poster_reading(ctx, image, result, e) if e.violation is Violation.FLYPOSTING else PosterReading()
            for e in events
        ]
    photo = PhotoScan(
        result.path,
        taken_at=taken_at,
        time_source=when.source,
        time_note=when.note,
        camera_id=where.camera_id,
        place_id=where.place_id,
        lat=where.lat,
        lon=where.lon,
        detections=len(result.detections),
    )
    if not events and then is None:
        return photo

    def with_sightings(ingested: list[IngestResult]) -> PhotoScan:
        sightings = tuple(
            Sighting(e, r.case.id, r.outcome, read.text, tuple(p.number for p in read.phones))
            for e, r, read in zip(events, ingested, readings, strict=True)
        )
        return dataclasses.replace(photo, sightings=sightings)

    def record(session: Session, ingested: list[IngestResult]) -> None:
        attach_readings(session, ingested, readings, taken_at)
        if then is not None:
            then(session, with_sightings(ingested))

    sightings = list(zip(events, evidence, strict=True))
    return with_sightings(
        ctx.manager.ingest_source(where, sightings, model_version(ctx.detector), sha256_hex(data), record)
    )


def poster_reading(ctx: Context, image: DecodedImage, result: PhotoResult, event: ViolationEvent) -> PosterReading:
    """What was read on a flyposting sighting: the text the photo pipeline read inside its box, else the phone
    numbers read there now (a poster the detector found where the text finder was off or read nothing)."""
    reading = read_poster(result.texts, (result.width, result.height), event.bbox)
    if reading is not None:
        return reading
    phones = ctx.ocr.phones(image.pixels, [event.bbox])
    return PosterReading("\n".join(dict.fromkeys(p.text for p in phones)), tuple(phones))


def detect_kept(
    sources: Iterable[Source], detector: Detector | PhotoDetector, *, batch_size: int = 1, workers: int = 2
) -> Iterator[tuple[PhotoResult, bytes | None]]:
    """Detect every source, yielding each result with the photo's bytes (None when unreadable), read only once.

    The bytes are dropped once the consumer moves on, so a batch of any size runs in bounded memory.
    """
    kept = [_Kept(source) for source in sources]
    results = detect_sources((k.wrapped() for k in kept), detector, batch_size=batch_size, workers=workers)
    for photo, result in zip(kept, results, strict=True):
        try:
            yield result, photo.data
        finally:
            photo.data = None


def scan(
    paths: Iterable[str | Path],
    ctx: Context,
    camera: str | None = None,
    place: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    progress: ScanProgress | None = None,
    *,
    batch_size: int = 1,
    workers: int = 2,
) -> ScanReport:
    """Detect, judge and ingest every photo named by ``paths`` (files, folders, zip archives).

    ``camera``, ``place`` or ``lat``/``lon`` (at most one of them) say where the whole batch was taken; without
    them each photo's EXIF GPS is used. Raises :class:`ScanError` for an unknown camera or place or contradictory
    locations, before any photo is read. Unusable photos (and sightings the case manager refuses) are counted as
    failed with their message; database failures are not per photo and propagate.
    """
    where = resolve_where(ctx, camera, place, lat, lon)
    sources = list(iter_sources(paths))
    report = ScanReport()
    for done, outcome in enumerate(scan_sources(sources, ctx, where, batch_size=batch_size, workers=workers), 1):
        report.add(outcome)
        if progress is not None:
            progress(outcome, done, len(sources))
    return report


def scan_sources(
    sources: Iterable[Source], ctx: Context, where: Where, *, batch_size: int = 1, workers: int = 2
) -> Iterator[PhotoScan]:
    """Detect, judge and ingest each source in order: the per-photo work of every engine (:func:`scan` in this
    process, each actor of :mod:`service.cluster.archive` on a Ray cluster)."""
    for result, data in detect_kept(sources, ctx.photos, batch_size=batch_size, workers=workers):
        try:
            yield scan_photo(ctx, result, data, where)
        except (GridWatchError, OSError) as exc:  # ImageError, CaseError, evidence folder errors: this photo only
            yield PhotoScan(result.path, error=str(exc))
