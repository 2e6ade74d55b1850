"""What a test does when a server or browser it needs is missing: a skip on a developer's machine (``make test``
lists it among the skips), a failure in CI (``CI=true``), where a missing server must not pass as a green run."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(what: str) -> NoReturn:
    """Skip the test for lack of ``what``; in CI fail it instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs {what}", pytrace=False)
    pytest.skip(f"needs {what}")
