"""The case manager: turns violation and clear events into cases, and runs operators' actions.

Every write goes through here, in one transaction per call, so the lifecycle table, the event log and the flags
cannot drift apart. The concerns live beside it: where a sighting is (:mod:`~service.cases.placement`), which case it
joins (:mod:`~service.cases.matching`), what it does to the case (:mod:`~service.cases.sightings`), what an action
does (:mod:`~service.cases.actions`), the pictures (:mod:`~service.cases.attachments`) and the case log
(:mod:`~service.cases.caselog`). This module owns the transactions, the locks, the clock and the order of writes:
pictures before the rows that name them, and only once the write is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import CaseError
from domain.lifecycle import Action, CaseState, next_state
from domain.taxonomy import EVENT_CODES, Violation
from service.cases import oversight
from service.cases.actions import apply_action, check_arguments, refuse_duplicate_open
from service.cases.attachments import Attachment, attach, copy_last_sighting, store_all
from service.cases.caselog import SYSTEM_ACTOR, LogAction, log
from service.cases.manual import ManualReport, open_manual_case
from service.cases.matching import MatchSettings
from service.cases.placement import Placement
from service.cases.relocation import Relocation, relocate
from service.cases.sightings import IngestResult, SightingSource, cleared_cases, record_sighting
from service.core.calendar import add_working_time
from service.core.registry import SiteRegistry
from service.store.blobs import BlobStore
from service.store.db import Store
from service.store.evidence import EvidenceInput
from service.store.models import Case, CaseRequest, EvidenceRole, RequestKind, Verdict, VerdictKind
from vision.rules.events import ClearEvent, ViolationEvent


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CaseManager:
    """Opens, updates and moves cases. ``sites`` gives the deadlines and calendar in force; ``clock`` gives "now"
    for actions that name no time."""

    def __init__(
        self,
        store: Store,
        sites: SiteRegistry,
        evidence: BlobStore,
        *,
        match: MatchSettings | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store, self.sites, self.evidence = store, sites, evidence
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
        # Files before rows: a row never names a missing file. A sighting is never refused, so none is written in
        # vain (a duplicate's pictures are the ones already stored: content-addressed).
        stored = [store_all(self.evidence, evidence) for _, evidence in sightings]
        source = SightingSource(where, model_version, source_sha256)
        now = self.clock()

        def work(s: Session) -> list[IngestResult]:
            for key in where.lock_keys(self.match.radius_m):  # per place: writers elsewhere do not wait
                self.store.lock(s, f"ingest:{key}")
            results = [
                record_sighting(s, event, source, files, self.match, now)
                for (event, _), files in zip(sightings, stored, strict=True)
            ]
            if then is not None:
                then(s, results)
            return results

        # A concurrent writer that got there first (the observation fingerprint, or the one open case of a place)
        # makes the database refuse this transaction; the retry then finds its rows: duplicate or update.
        return self.store.write(work)

    def ingest_clear(self, event: ClearEvent, camera_id: str, evidence: Sequence[EvidenceInput] = ()) -> list[int]:
        """Camera ``camera_id`` saw the place of a case clear: propose "rectified" with before/after evidence.

        Applies to cases in the unit's hands (dispatched, extended, deferred, handled, returned) on that
        camera, with the same violation and an overlapping box, last seen before the place went clear.
        Returns the ids of the cases that got a new proposal.
        """
        now = self.clock()
        stored: list[Attachment] | None = None  # written once a case takes them: no orphans otherwise
        with self.store.transaction() as s:
            proposed = []
            for case in cleared_cases(s, event, camera_id, self.match):
                case.rectified_proposed, case.rectified_since, case.needs_rework = True, event.clear_since, False
                copy_last_sighting(s, case.id, now)
                stored = store_all(self.evidence, evidence) if stored is None else stored
                attach(s, case.id, None, stored, EvidenceRole.AFTER, now)
                note = f"place clear since {event.clear_since.isoformat()}"
                log(s, case, LogAction.PROPOSE_RECTIFIED, SYSTEM_ACTOR, event.at, note)
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
            case = self._get(s, case_id)
            self._apply(s, case, action, actor, at, note, unit_id=unit_id, deadline=deadline, evidence=evidence)
            if then is not None:
                then(s, case)
            return case

    def supervise(
        self,
        case_id: int,
        *,
        actor: str,
        at: datetime | None = None,
        note: str | None = None,
        then: Callable[[Session, Case], None] | None = None,
    ) -> Case:
        """督办: the centre presses the unit on a case it still owes (:func:`oversight.supervise`)."""
        at = at or self.clock()
        with self.store.transaction() as s:
            case = self._get(s, case_id)
            oversight.supervise(s, case, actor, at, note)
            if then is not None:
                then(s, case)
            return case

    def request(
        self,
        case_id: int,
        kind: RequestKind,
        *,
        actor: str,
        reason: str,
        deadline: datetime | None = None,
        at: datetime | None = None,
        then: Callable[[Session, CaseRequest], None] | None = None,
    ) -> CaseRequest:
        """A unit asks for 延期 (``deadline``: the one it wants) or 缓办; the centre decides with :meth:`decide`."""
        at = at or self.clock()
        with self.store.transaction() as s:
            case = self._get(s, case_id)
            row = oversight.open_request(s, case, kind, actor=actor, at=at, reason=reason, deadline=deadline)
            s.flush()
            if then is not None:
                then(s, row)
            return row

    def decide(
        self,
        request_id: int,
        approved: bool,
        *,
        actor: str,
        note: str | None = None,
        deadline: datetime | None = None,
        at: datetime | None = None,
        then: Callable[[Session, CaseRequest], None] | None = None,
    ) -> CaseRequest:
        """The centre approves a request (its ``extend`` to the deadline asked for, or ``deadline`` instead; or its
        ``defer``) or refuses it, in one transaction with the case's change and log."""
        at = at or self.clock()
        with self.store.transaction() as s:
            case_id = s.scalar(select(CaseRequest.case_id).where(CaseRequest.id == request_id))
            if case_id is None:
                raise CaseError(f"no request {request_id}")
            case = self._get(s, case_id)  # the case first, as every writer locks it: one lock order
            row = s.get_one(CaseRequest, request_id, with_for_update=True)
            kind = RequestKind(row.kind)
            if approved:
                oversight.approve(row, actor=actor, at=at, note=note)
                granted = (deadline or row.deadline) if kind is RequestKind.EXTEND else deadline
                why = f"{kind} request {row.id} approved: {row.reason}" + (f" ({note})" if note else "")
                self._apply(s, case, oversight.ACTION_OF[kind], actor, at, why, deadline=granted)
            else:
                if deadline is not None:
                    raise CaseError("a refusal takes no deadline")
                oversight.refuse(s, case, row, actor=actor, at=at, note=note)
            if then is not None:
                then(s, row)
            return row

    def relocate(
        self,
        case_id: int,
        change: Relocation,
        *,
        actor: str,
        note: str | None = None,
        at: datetime | None = None,
        then: Callable[[Session, Case], None] | None = None,
    ) -> Case:
        """The centre corrects a case's place, position, grid or unit (:func:`relocate`); logged with what changed."""
        at = at or self.clock()
        with self.store.transaction() as s:
            case = self._get(s, case_id)
            changed = relocate(case, change, self.sites.current)
            if not changed:
                raise CaseError(f"case {case_id} is already there: nothing to correct")
            refuse_duplicate_open(s, case, Violation(case.violation))
            log(s, case, LogAction.RELOCATE, actor, at, f"{changed}" + (f" ({note})" if note else ""))
            if then is not None:
                then(s, case)
            return case

    def open_manual(
        self,
        report: ManualReport,
        photo: Sequence[EvidenceInput] = (),
        *,
        actor: str,
        then: Callable[[Session, Case], None] | None = None,
    ) -> Case:
        """File a hotline or inspector report as a case pending review (:func:`open_manual_case`); the photo is
        optional and stored once the report is accepted."""
        now = self.clock()
        with self.store.transaction() as s:
            for key in report.where.lock_keys(self.match.radius_m):  # as a sighting there: one open case per place
                self.store.lock(s, f"ingest:{key}")
            case = open_manual_case(s, report, store_all(self.evidence, photo) if photo else [], actor, now)
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
            case = self._get(s, case_id)
            if violation is not None:
                if case.state not in (CaseState.PENDING_REVIEW, CaseState.FILED):
                    raise CaseError(f"case {case_id} is {case.state}: relabel only before dispatch")
                refuse_duplicate_open(s, case, violation)
                case.violation, case.event_code = violation, EVENT_CODES[violation].code
            row = Verdict(case_id=case_id, at=at, actor=actor, verdict=verdict, violation=violation, note=note)
            s.add(row)
            log(s, case, LogAction.VERDICT, actor, at, f"{verdict}{f' as {violation}' if violation else ''}")
            if then is not None:
                then(s, row)
            return row

    # ---- internals -------------------------------------------------------------------------------------

    def _apply(
        self,
        s: Session,
        case: Case,
        action: Action,
        actor: str,
        at: datetime,
        note: str | None,
        *,
        unit_id: str | None = None,
        deadline: datetime | None = None,
        evidence: Sequence[EvidenceInput] = (),
    ) -> None:
        """One transition on a locked case, its side effects and its log entry (with the old and new deadline
        when it moved); the evidence is stored only once the transition is allowed."""
        before = CaseState(case.state)
        after = next_state(before, action, case.id)
        check_arguments(action, has_evidence=bool(evidence), unit_id=unit_id, deadline=deadline)
        old_deadline = case.deadline_at
        apply_action(
            case,
            before,
            action,
            at,
            unit_id=unit_id,
            deadline=deadline,
            has_evidence=bool(evidence),
            deadline_for=self._deadline,
        )
        case.state = after
        if evidence:
            attach(s, case.id, None, store_all(self.evidence, evidence), EvidenceRole.HANDLING, at)
        moved = (old_deadline, case.deadline_at) if case.deadline_at != old_deadline else None
        log(s, case, action, actor, at, note, before, moved)

    def _deadline(self, case: Case, start: datetime) -> datetime:
        site = self.sites.current
        return add_working_time(start, site.deadlines[Violation(case.violation)], site.calendar)

    def _get(self, s: Session, case_id: int) -> Case:
        """The case, locked for update (its writers queue); :class:`CaseError` when there is none."""
        case = s.scalar(select(Case).where(Case.id == case_id).with_for_update())
        if case is None:
            raise CaseError(f"no case {case_id}")
        return case
