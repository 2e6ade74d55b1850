"""Shared fixtures: the bundled real sample photos and the shipped model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from service.core.config import COCO_MODEL
from vision.detector import Detector

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED_WEIGHTS = ROOT.parent / "shared" / "weights"
HAS_TRAIN = importlib.util.find_spec("ultralytics") is not None


@pytest.fixture(scope="session")
def detector() -> Detector:
    """The shipped default model on the CPU."""
    return Detector(COCO_MODEL, providers="cpu")


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES
