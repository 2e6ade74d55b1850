"""The label taxonomy: complete, consistent, and matching the event codes of the domain notes."""

from __future__ import annotations

import pytest

from domain.taxonomy import EVENT_CODES, LABEL_NAMES, LABELS, Violation, label

REQUIRED = [
    "person",
    "car",
    "truck",
    "bus",
    "motorcycle",
    "bicycle",
    "garbage",
    "bin",
    "bin_overflow",
    "debris",
    "graffiti",
    "poster",
]


def test_labels_are_the_contract() -> None:
    assert list(LABEL_NAMES) == REQUIRED


def test_every_violation_has_a_code_and_a_label_that_raises_it() -> None:
    assert set(EVENT_CODES) == set(Violation)
    raised = {v for item in LABELS for v in item.violations}
    assert raised == set(Violation)


@pytest.mark.parametrize(
    ("violation", "code"),
    [
        (Violation.MOTOR_PARKING, "09009"),
        (Violation.NON_MOTOR_PARKING, "09010"),
        (Violation.DEBRIS, "06036"),
        (Violation.BIN_OVERFLOW, "06042"),
        (Violation.EXPOSED_GARBAGE, "06010"),
        (Violation.FLYPOSTING, "07001"),
        (Violation.FACADE_GRAFFITI, "06004"),
    ],
)
def test_event_codes(violation: Violation, code: str) -> None:
    assert EVENT_CODES[violation].code == code


def test_lookup() -> None:
    assert label("bin_overflow").violations == (Violation.BIN_OVERFLOW,)
    with pytest.raises(KeyError, match="unknown label 'tank'"):
        label("tank")
