"""The case manager: turns violation and clear events into cases, and runs operators' actions.

Every write goes through here, in one transaction per call, so the lifecycle table, the event log and
the flags cannot drift apart.

Same place (dedup and recurrence), for a new sighting against an existing case of the same violation:

- both from the same camera: the boxes overlap with IoU >= ``MatchSettings.iou`` (one camera sees
  several piles; only the box tells them apart);
- otherwise: the same place id, or both located and at most ``MatchSettings.radius_m`` metres apart
  (a patrol photo next to a camera's case, two cameras on one corner).

A sighting that matches an open case updates it; one that matches only closed cases opens a new case
linked to the latest of them (``previous_case_id``: recurrence). Re-ingesting the same source content for
the same violation and box is a no-op (observation fingerprint).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import CaseError
from domain.lifecycle import IN_UNIT_HANDS, OPEN, Action, CaseState, next_state
from domain.taxonomy import EVENT_CODES, Violation
from service.cases.placement import Placement
from service.core.calendar import add_working_time
from service.core.site import SiteConfig, haversine_m
from service.store.blobs import BlobStore
from service.store.db import Store
from service.store.evidence import EvidenceInput, StoredEvidence, record_evidence
from service.store.models import (
    Case,
    CaseEvent,
    EvidenceKind,
    EvidenceLink,
    EvidenceRole,
    Observation,
    Verdict,
    VerdictKind,
)
from vision.metrics import box_iou
from vision.rules.events import ClearEvent, ViolationEvent

SYSTEM_ACTOR = "gridwatch"


class LogAction(StrEnum):
    """Event-log entries that are not lifecycle transitions (the state stays the same)."""

    OPEN = "open"
    PROPOSE_RECTIFIED = "propose_rectified"
    FLAG_REWORK = "flag_rework"
    VERDICT = "verdict"


class Outcome(StrEnum):
    """What an ingested sighting did."""

    OPENED = "opened"  # a new case
    RECURRED = "recurred"  # a new case at a closed case's place
    UPDATED = "updated"  # an open case seen again
    DUPLICATE = "duplicate"  # this source, violation and box were already ingested


@dataclass(frozen=True)
class MatchSettings:
    """When two sightings are at the same place."""

    iou: float = 0.3
    radius_m: float = 30.0


@dataclass(frozen=True)
class IngestResult:
    case: Case
    observation_id: int
    outcome: Outcome


def fingerprint(source_sha256: str, violation: Violation, bbox: Sequence[float]) -> str:
    """Identity of one sighting: the same content, violation and box (to 1e-4) is the same sighting."""
    box = ",".join(f"{v:.4f}" for v in bbox)
    return hashlib.sha256(f"{source_sha256}|{violation}|{box}".encode()).hexdigest()


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    return float(box_iou([list(a)], [list(b)])[0, 0])


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CaseManager:
    """Opens, updates and moves cases. ``clock`` gives "now" for actions that name no time."""

    def __init__(
        self,
        store: Store,
        site: SiteConfig,
        evidence: BlobStore,
        *,
        match: MatchSettings | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store, self.site, self.evidence = store, site, evidence
        self.match = match or MatchSettings()
        self.clock = clock

    # ---- sightings -------------------------------------------------------------------------------------

    def ingest(
        self,
        event: ViolationEvent,
        where: Placement,
        evidence: Sequence[EvidenceInput],
        model_version: str,
        source_sha256: str,
    ) -> IngestResult:
        """Record a sighting at ``where``: update the open case at its place, or open a (possibly recurrent) case."""
        return self.ingest_source(where, [(event, evidence)], model_version, source_sha256)[0]

    def ingest_source(
        self,
        where: Placement,
        sightings: Sequence[tuple[ViolationEvent, Sequence[EvidenceInput]]],
        model_version: str,
        source_sha256: str,
        then: Callable[[Session, list[IngestResult]], None] | None = None,
    ) -> list[IngestResult]:
        """Record every sighting of one source (a photo or a frame), all at ``where``, in one transaction, in order.

        ``then`` runs inside that transaction after the sightings (also when there are none): a photo batch marks
        its item done there, so a crash leaves both the cases and the item's state, or neither.
        """
        # Files before rows: a row never names a missing file.
        stored = [self._put(evidence) for _, evidence in sightings]
        now = self.clock()

        def work(s: Session) -> list[IngestResult]:
            for key in where.lock_keys(self.match.radius_m):  # per place: writers elsewhere do not wait
                self.store.lock(s, f"ingest:{key}")
            results = [
                self._ingest(
                    s, event, where, list(zip(evidence, files, strict=True)), model_version, source_sha256, now
                )
                for (event, evidence), files in zip(sightings, stored, strict=True)
            ]
            if then is not None:
                then(s, results)
            return results

        # A concurrent writer that got there first (the observation fingerprint, or the one open case of a place)
        # makes the database refuse this transaction; the retry then finds its rows: duplicate or update.
        return self.store.write(work)

    def _ingest(
        self,
        s: Session,
        event: ViolationEvent,
        where: Placement,
        evidence: Sequence[tuple[EvidenceInput, StoredEvidence]],
        model_version: str,
        source_sha256: str,
        now: datetime,
    ) -> IngestResult:
        key = fingerprint(source_sha256, event.violation, event.bbox)
        seen = s.scalar(select(Observation).where(Observation.fingerprint == key))
        if seen is not None:
            return IngestResult(s.get_one(Case, seen.case_id), seen.id, Outcome.DUPLICATE)
        case = self._match(s, event.violation, event.bbox, where, OPEN)
        if case is not None:
            outcome = Outcome.UPDATED
            self._update(s, case, event, where)
        else:
            previous = self._match(s, event.violation, event.bbox, where, {CaseState.CLOSED})
            outcome = Outcome.RECURRED if previous else Outcome.OPENED
            case = self._open(s, event, where, model_version, previous, now)
        obs = Observation(
            case_id=case.id,
            fingerprint=key,
            source_sha256=source_sha256,
            violation=event.violation,
            label=event.label,
            rule=event.rule,
            first_seen=event.first_seen,
            seen_at=event.last_seen,
            count=event.observations,
            camera_id=where.camera_id,
            place_id=where.place_id,
            zone_key=event.zone_id,
            lat=where.lat,
            lon=where.lon,
            bbox=list(event.bbox),
            confidence=event.confidence,
            model_version=model_version,
            created_at=now,
        )
        s.add(obs)
        s.flush()
        self._link(s, case.id, obs.id, evidence, EvidenceRole.SIGHTING, now)
        return IngestResult(case, obs.id, outcome)

    def ingest_clear(self, event: ClearEvent, camera_id: str, evidence: Sequence[EvidenceInput] = ()) -> list[int]:
        """Camera ``camera_id`` saw the place of a case clear: propose "rectified" with before/after evidence.

        Applies to cases in the unit's hands (dispatched, extended, deferred, handled, returned) on that
        camera, with the same violation and an overlapping box, last seen before the place went clear.
        Returns the ids of the cases that got a new proposal.
        """
        now = self.clock()
        stored: list[StoredEvidence] | None = None  # written once the first case takes them: no orphans otherwise
        with self.store.transaction() as s:
            rows = s.scalars(
                select(Case)
                .where(Case.camera_id == camera_id, Case.violation == event.violation)
                .where(Case.state.in_(IN_UNIT_HANDS), Case.rectified_proposed.is_(False))
                .where(Case.last_seen < event.clear_since)
                .order_by(Case.id)
                .with_for_update()
            )
            proposed = []
            for case in rows:
                if _iou(case.bbox, event.bbox) < self.match.iou:
                    continue
                case.rectified_proposed, case.rectified_since, case.needs_rework = True, event.clear_since, False
                self._copy_last_sighting(s, case.id, now)
                stored = self._put(evidence) if stored is None else stored
                self._link(s, case.id, None, list(zip(evidence, stored, strict=True)), EvidenceRole.AFTER, now)
                note = f"place clear since {event.clear_since.isoformat()}"
                self._log(s, case, LogAction.PROPOSE_RECTIFIED, SYSTEM_ACTOR, event.at, note)
                proposed.append(case.id)
            return proposed

    # ---- operators -------------------------------------------------------------------------------------

    def act(
        self,
        case_id: int,
        action: Action,
        *,
        actor: str,
        at: datetime | None = None,
        note: str | None = None,
        unit_id: str | None = None,
        deadline: datetime | None = None,
        evidence: Sequence[EvidenceInput] = (),
        then: Callable[[Session, Case], None] | None = None,
    ) -> Case:
        """Apply ``action`` to a case; the only way a case changes state.

        ``unit_id`` (dispatch) overrides the grid's unit; ``deadline`` is required by extend and must be later
        than the current one; ``evidence`` (the 处置反馈 photo) is required by handle and taken by no other
        action. Raises :class:`IllegalTransition` for actions the table does not allow, :class:`CaseError`
        for a bad argument. ``then`` runs in the action's transaction after it (the API's audit row): both are
        kept, or neither. The evidence is written only once the action is allowed, so a refusal leaves no file.
        """
        at = at or self.clock()
        with self.store.transaction() as s:
            case = self._get(s, case_id, lock=True)
            before = CaseState(case.state)
            after = next_state(before, action, case.id)
            if evidence and action is not Action.HANDLE:
                raise CaseError(f"{action} takes no evidence; only {Action.HANDLE} does (the 处置反馈 photo)")
            if unit_id is not None and action is not Action.DISPATCH:
                raise CaseError(f"{action} takes no unit; only {Action.DISPATCH} does")
            if deadline is not None and action is not Action.EXTEND:
                raise CaseError(f"{action} takes no deadline; only {Action.EXTEND} does")
            self._apply(case, before, action, at, unit_id, deadline, bool(evidence))
            case.state = after
            if evidence:
                stored = self._put(evidence)
                self._link(s, case.id, None, list(zip(evidence, stored, strict=True)), EvidenceRole.HANDLING, at)
            self._log(s, case, action, actor, at, note, before)
            if then is not None:
                then(s, case)
            return case

    def record_verdict(
        self,
        case_id: int,
        verdict: VerdictKind,
        *,
        actor: str,
        at: datetime | None = None,
        violation: Violation | None = None,
        note: str | None = None,
        then: Callable[[Session, Verdict], None] | None = None,
    ) -> Verdict:
        """Keep an operator's judgement of the detection. A relabel also retypes the case while no deadline
        depends on its type (pending review or filed). ``then`` runs in the verdict's transaction (the audit row)."""
        at = at or self.clock()
        if (verdict is VerdictKind.RELABEL) != (violation is not None):
            raise CaseError("a relabel verdict needs the new violation, and only a relabel takes one")
        with self.store.transaction() as s:
            case = self._get(s, case_id, lock=True)
            if violation is not None:
                if case.state not in (CaseState.PENDING_REVIEW, CaseState.FILED):
                    raise CaseError(f"case {case_id} is {case.state}: relabel only before dispatch")
                self._refuse_duplicate_open(s, case, violation)
                case.violation, case.event_code = violation, EVENT_CODES[violation].code
            row = Verdict(case_id=case_id, at=at, actor=actor, verdict=verdict, violation=violation, note=note)
            s.add(row)
            self._log(s, case, LogAction.VERDICT, actor, at, f"{verdict}{f' as {violation}' if violation else ''}")
            if then is not None:
                then(s, row)
            return row

    # ---- internals -------------------------------------------------------------------------------------

    def _apply(
        self,
        case: Case,
        state: CaseState,
        action: Action,
        at: datetime,
        unit_id: str | None,
        deadline: datetime | None,
        has_evidence: bool,
    ) -> None:
        """Side effects of a transition already allowed by the table."""
        match action:
            case Action.FILE:
                case.filed_at = at
            case Action.DISPATCH:
                case.unit_id = unit_id or case.unit_id
                if case.unit_id is None:
                    raise CaseError(f"case {case.id} has no responsible unit: dispatch needs a unit_id")
                case.dispatched_at = case.dispatched_at or at
                if state is CaseState.FILED:  # a returned case keeps its deadline: rework buys no time
                    case.deadline_at = self._deadline(case, at)
            case Action.RESUME:
                case.deadline_at = self._deadline(case, at)
            case Action.HANDLE:
                if not has_evidence:
                    raise CaseError(f"handling case {case.id} needs the 处置反馈 photo as evidence")
                case.handled_at, case.needs_rework = at, False
            case Action.EXTEND:
                if deadline is None or case.deadline_at is None or deadline <= case.deadline_at:
                    current = case.deadline_at.isoformat() if case.deadline_at else "none"
                    raise CaseError(f"extending case {case.id} needs a deadline later than the current {current}")
                case.deadline_at = deadline
                case.extension_count += 1
            case Action.DEFER:
                case.deferral_count += 1
            case Action.SEND_BACK:
                case.unit_id = None  # not theirs: the next dispatch must name the unit
            case Action.VERIFY:
                case.verified_at = at
            case Action.RETURN:
                case.rework_count += 1
                case.needs_rework = case.rectified_proposed = False
            case Action.CLOSE:
                case.closed_at = at
                case.needs_rework = case.rectified_proposed = False
            case Action.REJECT:
                pass

    def _deadline(self, case: Case, start: datetime) -> datetime:
        return add_working_time(start, self.site.deadlines[Violation(case.violation)], self.site.calendar)

    def _refuse_duplicate_open(self, s: Session, case: Case, violation: Violation) -> None:
        """A relabel may not make a second open case of one violation at a place (the schema's unique index)."""
        if case.camera_id is not None or case.place_id is None:
            return
        other = s.scalar(
            select(Case.id).where(
                Case.violation == violation,
                Case.place_id == case.place_id,
                Case.camera_id.is_(None),
                Case.state.in_(OPEN),
                Case.id != case.id,
            )
        )
        if other is not None:
            raise CaseError(
                f"case {other} is already open for {violation} at {case.place_id}: reject case {case.id} instead"
            )

    def _get(self, s: Session, case_id: int, *, lock: bool) -> Case:
        query = select(Case).where(Case.id == case_id)
        case = s.scalar(query.with_for_update() if lock else query)
        if case is None:
            raise CaseError(f"no case {case_id}")
        return case

    def _put(self, evidence: Sequence[EvidenceInput]) -> list[StoredEvidence]:
        return [self.evidence.put(item.data, item.ext) for item in evidence]

    def _link(
        self,
        s: Session,
        case_id: int,
        observation_id: int | None,
        items: Sequence[tuple[EvidenceInput, StoredEvidence]],
        role: EvidenceRole,
        at: datetime,
    ) -> None:
        for item, stored in items:
            record_evidence(s, stored, at)
            self._add_link(s, case_id, observation_id, stored.sha256, item.kind, role, at)

    def _add_link(
        self,
        s: Session,
        case_id: int,
        observation_id: int | None,
        sha256: str,
        kind: EvidenceKind | str,
        role: EvidenceRole,
        at: datetime,
    ) -> None:
        exists = s.scalar(
            select(EvidenceLink.id).where(
                EvidenceLink.case_id == case_id,
                EvidenceLink.sha256 == sha256,
                EvidenceLink.kind == kind,
                EvidenceLink.role == role,
            )
        )
        if exists is None:
            s.add(
                EvidenceLink(
                    case_id=case_id, observation_id=observation_id, sha256=sha256, kind=kind, role=role, created_at=at
                )
            )

    def _copy_last_sighting(self, s: Session, case_id: int, at: datetime) -> None:
        """Attach the latest sighting's pictures as the "before" of a rectified proposal."""
        last = s.scalar(
            select(Observation.id)
            .join(EvidenceLink, EvidenceLink.observation_id == Observation.id)
            .where(Observation.case_id == case_id)
            .order_by(Observation.seen_at.desc(), Observation.id.desc())
            .limit(1)
        )
        links = s.scalars(select(EvidenceLink).where(EvidenceLink.observation_id == last)).all()
        for link in links:
            self._add_link(s, case_id, last, link.sha256, link.kind, EvidenceRole.BEFORE, at)

    def _log(
        self,
        s: Session,
        case: Case,
        action: Action | LogAction,
        actor: str,
        at: datetime,
        note: str | None,
        from_state: CaseState | None = None,
    ) -> None:
        source = from_state if from_state is not None else (None if action is LogAction.OPEN else case.state)
        s.add(
            CaseEvent(
                case_id=case.id, at=at, actor=actor, action=action, from_state=source, to_state=case.state, note=note
            )
        )
        s.flush()

    def _match(
        self, s: Session, violation: Violation, bbox: Sequence[float], where: Placement, states: Collection[CaseState]
    ) -> Case | None:
        """The case of ``violation`` in ``states`` at the same place, best match first (see module doc)."""
        near = Case.place_id == where.place_id if where.place_id else None
        if where.lat is not None and where.lon is not None:
            # Coarse box in degrees for the index; the exact distance is checked below.
            dlat = self.match.radius_m / 111_000.0
            dlon = dlat / max(math.cos(math.radians(where.lat)), 1e-6)
            box = Case.lat.between(where.lat - dlat, where.lat + dlat) & Case.lon.between(
                where.lon - dlon, where.lon + dlon
            )
            near = box if near is None else near | box
        if where.camera_id is not None:
            same_camera = Case.camera_id == where.camera_id
            near = same_camera if near is None else near | same_camera
        if near is None:
            return None
        candidates = s.scalars(
            select(Case)
            .where(Case.violation == violation, Case.state.in_(states), near)
            .order_by(Case.id)
            .with_for_update()
        )
        scored: list[tuple[float, datetime, int, Case]] = []
        for case in candidates:
            score = self._score(case, bbox, where)
            if score is not None:
                stamp = case.closed_at or case.last_seen
                scored.append((score, stamp, case.id, case))
        return max(scored, key=lambda t: t[:3])[3] if scored else None

    def _score(self, case: Case, bbox: Sequence[float], where: Placement) -> float | None:
        """How well ``case`` matches a sighting at ``where`` (higher is better), None when not the same place."""
        if where.camera_id is not None and case.camera_id == where.camera_id:
            iou = _iou(case.bbox, bbox)
            return iou if iou >= self.match.iou else None
        if where.place_id is not None and case.place_id == where.place_id:
            return 1.0
        if None not in (where.lat, where.lon, case.lat, case.lon):
            d = haversine_m(where.lat, where.lon, case.lat, case.lon)  # type: ignore[arg-type]
            return 1.0 - d / self.match.radius_m if d <= self.match.radius_m else None
        return None

    def _open(
        self,
        s: Session,
        event: ViolationEvent,
        where: Placement,
        model_version: str,
        previous: Case | None,
        now: datetime,
    ) -> Case:
        case = Case(
            state=CaseState.PENDING_REVIEW,
            violation=event.violation,
            event_code=EVENT_CODES[event.violation].code,
            label=event.label,
            rule=event.rule,
            thresholds=dict(event.thresholds),
            model_version=model_version,
            confidence=event.confidence,
            grid_id=where.grid_id,
            unit_id=where.unit_id,
            camera_id=where.camera_id,
            place_id=where.place_id,
            zone_key=event.zone_id,
            lat=where.lat,
            lon=where.lon,
            bbox=list(event.bbox),
            first_seen=event.first_seen,
            last_seen=event.last_seen,
            observation_count=event.observations,
            created_at=now,
            extension_count=0,
            deferral_count=0,
            rework_count=0,
            needs_rework=False,
            rectified_proposed=False,
            previous_case_id=previous.id if previous else None,
        )
        s.add(case)
        s.flush()
        note = f"recurrence of case {previous.id}" if previous else None
        self._log(s, case, LogAction.OPEN, SYSTEM_ACTOR, now, note)
        return case

    def _update(self, s: Session, case: Case, event: ViolationEvent, where: Placement) -> None:
        """An open case seen again; flags rework when the violation is back after handling or a clear."""
        case.first_seen = min(case.first_seen, event.first_seen)
        case.last_seen = max(case.last_seen, event.last_seen)
        case.observation_count += event.observations
        case.confidence = max(case.confidence, event.confidence)
        if where.camera_id is not None and where.camera_id == case.camera_id:
            case.bbox = list(event.bbox)  # follow slow drift of the box
        reasons = []
        if case.rectified_proposed and case.rectified_since and event.last_seen > case.rectified_since:
            case.rectified_proposed = False
            reasons.append(f"seen again at {event.last_seen.isoformat()} after the place was clear")
        handled = case.state in (CaseState.HANDLED, CaseState.VERIFIED)
        if handled and case.handled_at and event.last_seen > case.handled_at:
            reasons.append(f"seen again at {event.last_seen.isoformat()} after it was reported handled")
        if reasons and not case.needs_rework:
            case.needs_rework = True
            self._log(s, case, LogAction.FLAG_REWORK, SYSTEM_ACTOR, event.last_seen, "; ".join(reasons))
