"""GridWatch's detector labels and how they map to violations and national event codes.

This is the contract between the trained detector, the rules and the case store: label names are
stable identifiers; event codes follow GB/T 47678.5-2026 (see ../shared/DOMAIN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Violation(StrEnum):
    """Violation types a case can be opened for."""

    MOTOR_PARKING = "motor_parking"
    NON_MOTOR_PARKING = "non_motor_parking"
    DEBRIS = "debris"
    BIN_OVERFLOW = "bin_overflow"
    EXPOSED_GARBAGE = "exposed_garbage"
    FLYPOSTING = "flyposting"
    FACADE_GRAFFITI = "facade_graffiti"


@dataclass(frozen=True)
class EventCode:
    """A national event code with its Chinese name and the code older systems use."""

    code: str
    name: str
    legacy: str | None


EVENT_CODES: dict[Violation, EventCode] = {
    Violation.MOTOR_PARKING: EventCode("09009", "机动车乱停放", "04-09"),
    Violation.NON_MOTOR_PARKING: EventCode("09010", "非机动车乱停放", "04-10"),
    Violation.DEBRIS: EventCode("06036", "乱堆杂物", "01-36"),
    Violation.BIN_OVERFLOW: EventCode("06042", "垃圾站(箱)满溢", None),
    Violation.EXPOSED_GARBAGE: EventCode("06010", "暴露垃圾", "01-10"),
    Violation.FLYPOSTING: EventCode("07001", "非法小广告", "02-01"),
    Violation.FACADE_GRAFFITI: EventCode("06004", "建筑物外立面污损", None),
}


@dataclass(frozen=True)
class Label:
    """One detector label.

    Attributes:
        name: the label as the model and the JSONL output spell it.
        zh: the operators' word for it.
        violations: violation types this label can raise (through the rules; a label alone is not a violation).
        definition: what is boxed, and the rules that separate it from look-alikes.
    """

    name: str
    zh: str
    violations: tuple[Violation, ...]
    definition: str


LABELS: tuple[Label, ...] = (
    Label("person", "行人", (), "A person. Context only: used to ignore passers-by occluding static things."),
    Label("car", "小汽车", (Violation.MOTOR_PARKING,), "Passenger car, SUV, van."),
    Label("truck", "货车", (Violation.MOTOR_PARKING,), "Truck, pickup, tricycle truck with a cargo bed."),
    Label("bus", "客车", (Violation.MOTOR_PARKING,), "Bus or coach."),
    Label(
        "motorcycle",
        "摩托车/电动车",
        (Violation.NON_MOTOR_PARKING,),
        "Motorbike, e-bike, e-scooter. Counted as non-motor parking (09010) as Chinese cities do for e-bikes.",
    ),
    Label("bicycle", "自行车", (Violation.NON_MOTOR_PARKING,), "Bicycle, including shared bikes."),
    Label(
        "garbage",
        "暴露垃圾",
        (Violation.EXPOSED_GARBAGE, Violation.BIN_OVERFLOW),
        "Exposed garbage: heaps, bags, litter piles, garbage spilling around bins. With no container it is "
        "exposed garbage (06010); overlapping or surrounding a bin it makes that bin overflowing (06042).",
    ),
    Label("bin", "垃圾桶", (), "Waste container in a normal state (lid closed or contents below the rim)."),
    Label(
        "bin_overflow",
        "垃圾桶满溢",
        (Violation.BIN_OVERFLOW,),
        "A waste container whose contents spill over the rim; the box is on the bin, not on the spill.",
    ),
    Label(
        "debris",
        "乱堆物堆料",
        (Violation.DEBRIS,),
        "Piled sundries, old furniture, construction material, corridor clutter. Not goods displayed by an open "
        "shop (店外经营 09005) and not an active, fenced construction site (08006).",
    ),
    Label(
        "graffiti",
        "涂鸦/乱涂乱画",
        (Violation.FACADE_GRAFFITI, Violation.FLYPOSTING),
        "Sprayed or painted marks on walls, shutters, doors. Painted ads with phone numbers are flyposting (07001); "
        "other marks deface the facade (06004).",
    ),
    Label(
        "poster",
        "小广告",
        (Violation.FLYPOSTING,),
        "Pasted paper ads, posters, stickers, small ads. Legal shop signage and framed outdoor advertising "
        "(07003) are not posters.",
    ),
)

LABEL_NAMES: tuple[str, ...] = tuple(label.name for label in LABELS)


def label(name: str) -> Label:
    """The label called ``name``; raises KeyError naming the known labels otherwise."""
    for item in LABELS:
        if item.name == name:
            return item
    raise KeyError(f"unknown label {name!r}; labels are {', '.join(LABEL_NAMES)}")
