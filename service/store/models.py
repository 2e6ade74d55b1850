"""The case store's tables as typed SQLAlchemy 2 ORM classes.

Datetimes are stored as naive UTC and come back timezone-aware (``UTCDateTime``), so SQLite and
PostgreSQL behave the same and a naive datetime is refused rather than silently misread.
Site tables (units, grids, cameras, places, zones) mirror the site configuration; rows dropped from
the configuration are kept with ``active = False`` because cases refer to them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from domain.lifecycle import TERMINAL, CaseState
from domain.taxonomy import Violation


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC; naive datetimes are rejected."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store only takes timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class EvidenceKind(StrEnum):
    """What a stored picture shows."""

    ORIGINAL = "original"
    ANNOTATED = "annotated"
    CROP = "crop"


class EvidenceRole(StrEnum):
    """Why a picture is attached to a case."""

    SIGHTING = "sighting"  # the detection that opened or updated the case
    HANDLING = "handling"  # the unit's 处置反馈 photo
    BEFORE = "before"  # last sighting before an automatic "rectified" proposal
    AFTER = "after"  # the place seen clear


class CaseSource(StrEnum):
    """Where a case came from: the detector (a camera or a scanned photo), or a person (a case filed by hand)."""

    DETECTOR = "detector"
    HOTLINE = "hotline"  # a call to the 12345 / 12319 hotline
    INSPECTOR = "inspector"  # an inspector's (网格员, 督查员) report from the street


class RequestKind(StrEnum):
    """What a unit asks the centre for."""

    EXTEND = "extend"  # 延期: a later deadline
    DEFER = "defer"  # 缓办: handling postponed


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class VerdictKind(StrEnum):
    """An operator's judgement of a detection, kept for review statistics and retraining."""

    CONFIRM = "confirm"
    REJECT = "reject"
    RELABEL = "relabel"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


# The rows of the open-case-per-place unique index (migration 0004 spells out the same predicate).
_TERMINAL_SQL = ", ".join(repr(s.value) for s in sorted(TERMINAL))
OPEN_PLACE_CASE = f"camera_id IS NULL AND place_id IS NOT NULL AND state NOT IN ({_TERMINAL_SQL})"


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base: shared naming convention and type map."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Unit(Base):
    """A responsible unit (责任单位) that cases are dispatched to."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime]


class Grid(Base):
    """A management grid (网格) with its responsible unit."""

    __tablename__ = "grids"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str | None] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("grids.id"))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    polygon: Mapped[list[Any] | None]
    active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime]


class Camera(Base):
    """A camera, its grid and (where known) where it stands."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    grid_id: Mapped[str] = mapped_column(ForeignKey("grids.id"))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    sample_fps: Mapped[float]
    enabled: Mapped[bool]
    active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime]


class Place(Base):
    """A named inspection point (点位) that patrol photos are taken at."""

    __tablename__ = "places"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    grid_id: Mapped[str] = mapped_column(ForeignKey("grids.id"))
    lat: Mapped[float]
    lon: Mapped[float]
    radius_m: Mapped[float]
    active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime]


class Zone(Base):
    """A zone of a camera view or of a place; exactly one owner."""

    __tablename__ = "zones"
    __table_args__ = (
        UniqueConstraint("camera_id", "key"),
        UniqueConstraint("place_id", "key"),
        CheckConstraint("(camera_id IS NULL) <> (place_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id"))
    place_id: Mapped[str | None] = mapped_column(ForeignKey("places.id"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    polygon: Mapped[list[Any]]
    windows: Mapped[list[Any]]  # when the zone applies (time windows); empty = always
    active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime]


class Case(Base):
    """One violation at one place, from first sighting to closure."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("state", CaseState), name="state"),
        CheckConstraint(_in("violation", Violation), name="violation"),
        Index("ix_cases_violation_state", "violation", "state"),
        Index("ix_cases_camera_id_violation", "camera_id", "violation"),
        # At most one open case per violation at a place, for sightings not told apart by a camera's boxes:
        # two workers that both found no open case cannot both open one (the loser retries and updates it).
        Index(
            "uq_cases_open_place",
            "violation",
            "place_id",
            unique=True,
            postgresql_where=text(OPEN_PLACE_CASE),
            sqlite_where=text(OPEN_PLACE_CASE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(24))
    violation: Mapped[str] = mapped_column(String(32))
    event_code: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    thresholds: Mapped[dict[str, Any]]
    model_version: Mapped[str] = mapped_column(String(128))
    confidence: Mapped[float]
    grid_id: Mapped[str | None] = mapped_column(ForeignKey("grids.id"), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id"))
    place_id: Mapped[str | None] = mapped_column(ForeignKey("places.id"), index=True)
    zone_key: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    bbox: Mapped[list[Any]]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    observation_count: Mapped[int]
    created_at: Mapped[datetime]
    filed_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None] = mapped_column(index=True)
    handled_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    extension_count: Mapped[int] = mapped_column(default=0)
    deferral_count: Mapped[int] = mapped_column(default=0)
    rework_count: Mapped[int] = mapped_column(default=0)
    needs_rework: Mapped[bool] = mapped_column(default=False)
    rectified_proposed: Mapped[bool] = mapped_column(default=False)
    rectified_since: Mapped[datetime | None]
    previous_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    source: Mapped[str] = mapped_column(String(16), default=CaseSource.DETECTOR, server_default="detector")
    description: Mapped[str | None] = mapped_column(Text)  # a filed-by-hand case's account of what was seen
    reporter: Mapped[str | None] = mapped_column(String(200))  # who reported it (caller, inspector), as given
    supervised_at: Mapped[datetime | None]  # the latest 督办 by the centre
    supervision_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Optimistic lock: two concurrent writers of one case cannot both win.
    version: Mapped[int] = mapped_column(default=1)

    previous_case: Mapped[Case | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy declares it per instance


class Observation(Base):
    """One sighting of a case's violation: a frame or a patrol photo."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_case_id_seen_at", "case_id", "seen_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # sha256 of (source content, violation, rounded bbox): re-ingesting the same photo is a no-op.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    violation: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime]
    seen_at: Mapped[datetime]
    count: Mapped[int]
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id"))
    place_id: Mapped[str | None] = mapped_column(ForeignKey("places.id"))
    zone_key: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    bbox: Mapped[list[Any]]
    confidence: Mapped[float]
    model_version: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    text: Mapped[str | None] = mapped_column(Text)  # flyposting: what was read on the poster (OCR), else None


class CaseEvent(Base):
    """One line of a case's append-only log (database triggers refuse updates and deletes)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    # The deadline before and after an entry that moved it (dispatch, resume, extend, a correction).
    deadline_before: Mapped[datetime | None]
    deadline_after: Mapped[datetime | None]


class EvidenceFile(Base):
    """A stored picture, addressed by the sha256 of its bytes."""

    __tablename__ = "evidence"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    ext: Mapped[str] = mapped_column(String(8))
    size: Mapped[int]
    created_at: Mapped[datetime]


class EvidenceLink(Base):
    """A picture attached to a case (and to the observation it came with, if any)."""

    __tablename__ = "case_evidence"
    __table_args__ = (
        UniqueConstraint("case_id", "sha256", "kind", "role"),
        CheckConstraint(_in("kind", EvidenceKind), name="kind"),
        CheckConstraint(_in("role", EvidenceRole), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    observation_id: Mapped[int | None] = mapped_column(ForeignKey("observations.id"))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence.sha256"))
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Verdict(Base):
    """An operator's confirm/reject/relabel of a case's detection."""

    __tablename__ = "verdicts"
    __table_args__ = (
        CheckConstraint(_in("verdict", VerdictKind), name="verdict"),
        CheckConstraint("(verdict = 'relabel') = (violation IS NOT NULL)", name="relabel_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))
    violation: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class CaseRequest(Base):
    """A unit's request for 延期 or 缓办 on a case, and the centre's decision on it (one pending per case)."""

    __tablename__ = "case_requests"
    __table_args__ = (
        CheckConstraint(_in("kind", RequestKind), name="kind"),
        CheckConstraint(_in("state", RequestState), name="state"),
        CheckConstraint("(kind = 'extend') = (deadline IS NOT NULL)", name="extend_deadline"),
        Index(
            "uq_case_requests_pending",
            "case_id",
            unique=True,
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))  # the unit that asked
    reason: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime | None]  # extend: the deadline asked for
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class MissedReport(Base):
    """A violation a camera should have reported and did not (漏报), told by a person: the recall's other half."""

    __tablename__ = "missed_reports"
    __table_args__ = (
        CheckConstraint(_in("violation", Violation), name="violation"),
        Index("ix_missed_reports_camera_id_seen_at", "camera_id", "seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    seen_at: Mapped[datetime]  # when the violation was in the camera's view
    violation: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(32))  # the detector label that should have fired
    note: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # the hand-filed case for it, if any
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime]


class Role(StrEnum):
    """What a signed-in person may do (see ``service.auth``)."""

    ADMIN = "admin"  # everything, including users, tokens and the site configuration
    OPERATOR = "operator"  # reviews and moves cases of every grid
    UNIT_HANDLER = "unit_handler"  # sees and handles the cases dispatched to its unit and its grids' units only
    VIEWER = "viewer"  # reads everything, changes nothing


class TokenKind(StrEnum):
    SESSION = "session"  # issued by a login, belongs to a user
    API = "api"  # created by an admin for a machine (camera or photo ingest), has scopes


class User(Base):
    """A person who signs in; ``password_hash`` is a salted scrypt hash (``service.auth.passwords``)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # A unit handler's own unit (责任单位): it acts for that unit even where the unit is no grid's (a 居委会 cases
    # are re-dispatched to), as well as for its grids' units. None for every other role.
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))

    grids: Mapped[list[UserGrid]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def grid_ids(self) -> list[str]:
        return sorted(g.grid_id for g in self.grids)


class UserGrid(Base):
    """A grid a unit handler is responsible for: the only grids whose cases it sees."""

    __tablename__ = "user_grids"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    grid_id: Mapped[str] = mapped_column(ForeignKey("grids.id"), primary_key=True)


class AuthToken(Base):
    """A bearer token, kept only as the sha256 of its random value; revoked tokens stay for the record."""

    __tablename__ = "auth_tokens"
    __table_args__ = (
        CheckConstraint(_in("kind", TokenKind), name="kind"),
        CheckConstraint("(kind = 'session') = (user_id IS NOT NULL)", name="session_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[Any]]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what to what, and when: case actions, verdicts, settings, users and tokens (append-only)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]]


# ---- photo batches, poster phone numbers, webhooks ------------------------------------------------------


class BatchState(StrEnum):
    """Where an uploaded photo batch is: waiting for the worker, being worked on, finished."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"


class ItemState(StrEnum):
    """One photo of a batch: not yet judged, judged (its sightings ingested), or unusable."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class PhotoBatch(Base):
    """An upload of many photos, processed in the background; the counters move with the items."""

    __tablename__ = "photo_batches"
    __table_args__ = (CheckConstraint(_in("state", BatchState), name="state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex: also the folder name
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    place_id: Mapped[str | None] = mapped_column(ForeignKey("places.id"))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    total: Mapped[int]
    processed: Mapped[int] = mapped_column(default=0)  # done + failed
    failed: Mapped[int] = mapped_column(default=0)
    opened: Mapped[int] = mapped_column(default=0)
    recurred: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    duplicate: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[list[Any]]  # [{"name", "error"}]: a bounded sample of the upload entries refused
    rejected_total: Mapped[int] = mapped_column(default=0, server_default="0")  # all of them, counted


class PhotoBatchItem(Base):
    """One accepted photo of a batch; ``state`` turns done in the transaction that ingests its sightings."""

    __tablename__ = "photo_batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "seq"),
        CheckConstraint(_in("state", ItemState), name="state"),
        Index("ix_photo_batch_items_batch_id_state", "batch_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("photo_batches.id"))
    seq: Mapped[int]
    name: Mapped[str] = mapped_column(String(512))  # as uploaded (sanitised for display), never a path
    stored: Mapped[str] = mapped_column(String(64))  # file name inside the batch folder
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    taken_at: Mapped[datetime | None]
    time_note: Mapped[str | None] = mapped_column(String(200))  # why the photo's EXIF time was passed over
    place_id: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    detections: Mapped[int | None]
    sightings: Mapped[list[Any]]  # [{"case", "outcome", "violation"}]
    processed_at: Mapped[datetime | None]


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"


class CasePhone(Base):
    """A phone number read on a poster of a flyposting sighting (the number enforcement acts on)."""

    __tablename__ = "case_phones"
    __table_args__ = (
        UniqueConstraint("observation_id", "number"),
        CheckConstraint(_in("kind", PhoneKind), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    number: Mapped[str] = mapped_column(String(16), index=True)  # normalised digits, landlines 0AA-NNNNNNNN
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)  # the OCR line it came from
    seen_at: Mapped[datetime]


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # out of attempts


class Webhook(Base):
    """A URL told about case events after ``after_event_id`` (the log's end when it was added)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))  # HMAC-SHA256 key; the receiver holds the same
    actions: Mapped[list[Any]]  # case-log actions to send; empty = all
    active: Mapped[bool] = mapped_column(default=True)
    after_event_id: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One case event for one webhook, with its attempts: the delivery log and the outbox at once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "case_event_id"),
        CheckConstraint(_in("state", DeliveryState), name="state"),
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    case_event_id: Mapped[int] = mapped_column(ForeignKey("case_events.id"))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
