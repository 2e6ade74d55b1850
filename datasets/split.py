"""Group-aware, deterministic train/val/test assignment.

Images are nodes; two images are connected when they share a group key (Roboflow copies of one photo,
shots of one street run) or a near-duplicate group id (from :func:`datasets.dedup.find_duplicates`,
across sources). Each connected component goes to one split as a whole, chosen by hashing the
component's first group key (sources of later generations after older ones, then lexicographic order),
so the choice depends on nothing else in the dataset: adding an unrelated image, or a whole new source
of a new generation, never moves an existing image to another split.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

SPLITS: tuple[str, str, str] = ("train", "val", "test")
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)


def validate_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Check that there are three finite, non-negative fractions summing to 1 (within 1e-6).

    Raises:
        ValueError: saying which condition failed.
    """
    if len(fractions) != len(SPLITS):
        raise ValueError(f"expected {len(SPLITS)} fractions (train, val, test), got {len(fractions)}")
    values = tuple(float(f) for f in fractions)
    if any(not math.isfinite(f) or f < 0 for f in values):
        raise ValueError(f"fractions must be finite and non-negative, got {values}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {values} (sum {sum(values):.6g})")
    return values[0], values[1], values[2]


def unit_hash(key: str) -> float:
    """Map a string to [0, 1) by the first 8 bytes of its sha256 (stable across runs and platforms)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2.0**64


def split_of(key: str, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> str:
    """The split a component whose smallest group key is ``key`` goes to."""
    train, val, _ = validate_fractions(fractions)
    u = unit_hash(key)
    if u < train:
        return SPLITS[0]
    # Anything from train + val up, including float rounding at the top, is test.
    return SPLITS[1] if u < train + val else SPLITS[2]


def components(
    groups: Sequence[str], duplicate_of: npt.ArrayLike, generation: Mapping[str, int] | None = None
) -> list[str]:
    """The first group key of each image's component (see the module docstring).

    Keys are ordered by the generation of their source (the ``source`` of a key ``source/...``; sources not
    in ``generation`` count as generation 0), then lexicographically. A source of a later generation
    therefore never becomes the key of a component that holds an older source's images, even when one of its
    photos is linked to them (dhash links unrelated low-texture photos now and then): adding a source never
    moves an existing image to another split.

    Args:
        groups: (N,) group key per image.
        duplicate_of: (N,) near-duplicate group id per image.
        generation: source name -> when it joined the data (0 for the first sources, then 1, 2, ...).

    Returns:
        (N,) component key per image: the first group key in its component in that order.
    """
    dup = np.asarray(duplicate_of).reshape(-1)
    if dup.size != len(groups):
        raise ValueError(f"groups and duplicate_of differ in length: {len(groups)} vs {dup.size}")
    gen = generation or {}

    def order(key: str) -> tuple[int, str]:
        return gen.get(key.split("/", 1)[0], 0), key

    parent: dict[str, str] = {g: g for g in groups}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]  # path halving
            key = parent[key]
        return key

    first_of_dup: dict[int, str] = {}
    for group, dup_id in zip(groups, dup.tolist(), strict=True):
        other = first_of_dup.setdefault(int(dup_id), group)
        a, b = root(group), root(other)
        if a != b:
            # The first key becomes the root, so every root is its component's first key.
            first, last = sorted((a, b), key=order)
            parent[last] = first
    return [root(g) for g in groups]


def assign_splits(
    groups: Sequence[str],
    duplicate_of: npt.ArrayLike,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    overrides: Mapping[str, Sequence[float]] | None = None,
    generation: Mapping[str, int] | None = None,
) -> npt.NDArray[np.str_]:
    """Split name per image such that no component straddles splits.

    Args:
        groups: (N,) group key per image.
        duplicate_of: (N,) int near-duplicate group id per image (equal ids: near-duplicates).
        fractions: target (train, val, test) shares; non-negative, summing to 1. Shares are met in
            expectation over components, not exactly.
        overrides: source name -> (train, val, test) shares for components whose smallest group key belongs
            to that source (group keys are ``source/...``).
        generation: source name -> when it joined the data (see :func:`components`).

    Returns:
        (N,) array of ``"train"``, ``"val"`` or ``"test"``.

    Raises:
        ValueError: for invalid fractions or length mismatch.
    """
    return splits_of(components(groups, duplicate_of, generation), fractions, overrides)


def splits_of(
    keys: Sequence[str],
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    overrides: Mapping[str, Sequence[float]] | None = None,
) -> npt.NDArray[np.str_]:
    """Split name per image from its component key (:func:`components`); see :func:`assign_splits`.

    Returns:
        (N,) array of ``"train"``, ``"val"`` or ``"test"``.
    """
    fracs = validate_fractions(fractions)
    per_source = {name: validate_fractions(f) for name, f in (overrides or {}).items()}
    chosen = {k: split_of(k, per_source.get(k.split("/", 1)[0], fracs)) for k in set(keys)}
    return np.array([chosen[k] for k in keys], dtype="<U5")
