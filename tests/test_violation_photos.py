"""One real photo per violation kind, from the shipped model to a case: detector -> photo rules -> case manager.

Each photo (``tests/fixtures``, attribution in its ATTRIBUTION.md) shows one large, clear example of its kind, chosen
because the shipped model finds it far above its calibrated threshold; the test names the kind and nothing else (no
score, no box), so a retrained model with the same labels must find it too. The photos are scanned at a patrol place
whose no-parking zone covers the whole photo, as a patrol officer's upload would be, into an empty store.

Kinds with no photo here, and why (``NO_PHOTO``; the coverage test below fails if a kind has neither):

- debris: no shared source with a CC BY or CC0 licence shows bulky waste (the Amsterdam report photos are "freely
  available for reuse", the Smartathon street scenes are for research only), and the shipped model finds no debris
  in any of the licensed photos;
- facade graffiti: the graffiti photos' licence is not verified, and in the licensed photos the shipped model finds
  only a few small, unsure graffiti boxes (a sticker, a scribble on a bin), nothing a retrained model must repeat;
- flyposting: there is no real poster data at all (the training posters are synthetic), and the shipped model's
  poster boxes on licensed photos are small shop signs and stickers, not flyposting.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.taxonomy import Violation
from service.cases.sightings import Outcome
from service.context import Context, open_context
from service.core.config import DEFAULT_MODEL, Settings
from service.scan import PhotoScan, scan
from service.store.models import Case, EvidenceLink
from tests.cluster_fixtures import PLACE
from tests.conftest import ROOT
from vision.detector import Detector

pytest_plugins = ["tests.cluster_fixtures"]

FIXTURES = ROOT / "tests" / "fixtures"
PHOTOS = {
    Violation.EXPOSED_GARBAGE: "garbage_pile_pavement.jpg",  # a heap of bags on a pavement
    Violation.BIN_OVERFLOW: "bin_overflowing.jpg",  # a bin filled over its rim
    Violation.MOTOR_PARKING: "car_restaurant_front.jpg",  # a car parked across a restaurant's front
    Violation.NON_MOTOR_PARKING: "bicycle_brick_wall.jpg",  # a bicycle standing against a wall
}
NO_PHOTO = {
    Violation.DEBRIS: "no CC BY / CC0 photo of bulky waste; the shipped model finds none in the licensed photos",
    Violation.FACADE_GRAFFITI: "graffiti photos' licence unverified; licensed photos give only small, unsure boxes",
    Violation.FLYPOSTING: "no real poster data; poster boxes on licensed photos are shop signs and stickers",
}


@pytest.fixture(scope="module")
def shipped() -> Detector:
    """The shipped model at its own calibrated per-label thresholds, as ``gridwatch scan`` runs it."""
    return Detector(DEFAULT_MODEL, providers="cpu", model_thresholds=True)


@pytest.fixture
def ctx(tmp_path: Path, place_site: Path, shipped: Detector) -> Iterator[Context]:
    settings = Settings(data_dir=tmp_path / "data", site=place_site, model=DEFAULT_MODEL)
    with open_context(settings, detector=shipped) as opened:
        yield opened


def test_every_violation_kind_has_a_photo_or_a_reason() -> None:
    assert set(PHOTOS) | set(NO_PHOTO) == set(Violation) and not set(PHOTOS) & set(NO_PHOTO)
    assert all((FIXTURES / name).is_file() for name in PHOTOS.values())


@pytest.mark.parametrize("violation", list(PHOTOS), ids=str)
def test_a_photo_of_the_kind_opens_a_case_of_the_kind(violation: Violation, ctx: Context) -> None:
    scanned: list[PhotoScan] = []
    report = scan([FIXTURES / PHOTOS[violation]], ctx, place=PLACE, progress=lambda p, _done, _n: scanned.append(p))
    assert (report.photos, report.failed) == (1, 0)
    (result,) = scanned
    opened = [s for s in result.sightings if s.event.violation == violation]
    # the first sighting of the kind opens the case; more of it in the same photo (two cars) are at the same place
    assert opened and opened[0].outcome is Outcome.OPENED, result.sightings
    assert {s.case_id for s in opened} == {opened[0].case_id}

    with ctx.store.session() as s:
        case = s.get_one(Case, opened[0].case_id)
        kinds = set(s.scalars(select(EvidenceLink.kind).where(EvidenceLink.case_id == case.id)))
    assert (case.violation, case.state, case.place_id) == (violation, "pending_review", PLACE)
    assert case.model_version.startswith(DEFAULT_MODEL.name)  # the shipped model, not the COCO one
    assert kinds == {"original", "annotated", "crop"}  # the photo as it came, the frame with its box, the crop
