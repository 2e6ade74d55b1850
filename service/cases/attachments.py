"""Evidence on cases: pictures written to the blob store, their rows, and their links to a case in a role."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store.blobs import BlobStore
from service.store.evidence import EvidenceInput, StoredEvidence, record_evidence
from service.store.models import EvidenceKind, EvidenceLink, EvidenceRole, Observation

Attachment = tuple[EvidenceInput, StoredEvidence]
"""A picture as given and where it was stored."""


def store_all(blobs: BlobStore, evidence: Sequence[EvidenceInput]) -> list[Attachment]:
    """Write the pictures (content-addressed: stored once) before the rows that will name them."""
    return [(item, blobs.put(item.data, item.ext)) for item in evidence]


def attach(
    s: Session, case_id: int, observation_id: int | None, items: Sequence[Attachment], role: EvidenceRole, at: datetime
) -> None:
    """The evidence rows of stored pictures, linked to a case (and the observation they came with) in ``role``."""
    for item, stored in items:
        record_evidence(s, stored, at)
        _link(s, case_id, observation_id, stored.sha256, item.kind, role, at)


def copy_last_sighting(s: Session, case_id: int, at: datetime) -> None:
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
        _link(s, case_id, last, link.sha256, link.kind, EvidenceRole.BEFORE, at)


def _link(
    s: Session,
    case_id: int,
    observation_id: int | None,
    sha256: str,
    kind: EvidenceKind | str,
    role: EvidenceRole,
    at: datetime,
) -> None:
    """One link unless the case already has this picture in this kind and role (the schema's unique key)."""
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
