"""Photo batches: progress, the cases they touched, per-photo outcomes and errors."""

from __future__ import annotations

from datetime import datetime

from service.api.schemas import Response


class RejectedEntry(Response):
    name: str
    error: str


class BatchCases(Response):
    """Case ids per outcome of the batch's sightings."""

    opened: list[int]
    recurred: list[int]
    updated: list[int]
    duplicate: list[int]


class BatchSummary(Response):
    id: str
    state: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    place_id: str | None
    lat: float | None
    lon: float | None
    total: int
    processed: int
    failed: int
    opened: int
    recurred: int
    updated: int
    duplicate: int
    rejected_total: int  # upload entries refused before processing (zip members that are no photo, unsafe...)


class ItemError(Response):
    seq: int
    name: str
    error: str | None


class Batch(BatchSummary):
    """A batch with a sample of the entries refused at upload (``rejected_total`` counts them all), the first
    photos that failed (``failed`` counts them all; ``/items?state=failed`` pages through them) and the cases it
    touched."""

    rejected: list[RejectedEntry]
    errors: list[ItemError]
    cases: BatchCases


class ItemSighting(Response):
    """What one sighting of a batch photo did: the case and its outcome (``opened``, ``updated``, ...)."""

    case: int
    outcome: str
    violation: str


class BatchItem(Response):
    seq: int
    name: str
    size: int
    sha256: str
    state: str
    error: str | None
    taken_at: datetime | None
    time_note: str | None  # why the photo's EXIF capture time was not used (implausible)
    place_id: str | None
    lat: float | None
    lon: float | None
    detections: int | None
    sightings: list[ItemSighting]
    processed_at: datetime | None
