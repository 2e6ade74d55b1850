"""Cluster test fixtures: a local Ray cluster started for the test session (2 CPUs, a small object store) and
the example site with a no-parking zone over the whole photo at its patrol place, so the sample photos' cars are
violations there. Tests skip without Ray (the [cluster] extra).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from service.cluster.engine import NAMESPACE
from service.core.site import Zone, dump_site, load_site
from service.store.db import Store
from service.store.models import Case, Observation
from tests.conftest import ROOT

PLACE = "market-lane-corner"  # the example site's patrol place
OBJECT_STORE_BYTES = 96 * 1024 * 1024  # photo outcomes are small; Ray's minimum is 75 MiB

CaseKey = tuple[str, str | None, str | None, int, frozenset[str]]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local Ray cluster of this machine's 2 cores for the session; the package is importable by its workers."""
    ray = pytest.importorskip("ray", reason="the cluster tests need Ray (the [cluster] extra)")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=OBJECT_STORE_BYTES,
        namespace=NAMESPACE,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


def write_place_site(folder: Path) -> Path:
    """``folder/site.yaml``: the example site whose patrol place has a no-parking zone over the whole photo."""
    cfg = load_site(ROOT / "docs" / "site.example.yaml")
    whole = Zone(id="whole-photo", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
    places = [p.model_copy(update={"zones": [whole]}) if p.id == PLACE else p for p in cfg.places]
    path = folder / "site.yaml"
    dump_site(cfg.model_copy(update={"places": places}), path)
    return path


@pytest.fixture(scope="session")
def place_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_place_site(tmp_path_factory.mktemp("site"))


def case_set(store: Store) -> set[CaseKey]:
    """Each case as (violation, place, camera, sightings counted, fingerprints of its observations): what two runs
    must agree on whatever order their photos were ingested in (ids, times and the first box may differ)."""
    with store.session() as s:
        fingerprints: dict[int, set[str]] = {}
        for case_id, fingerprint in s.execute(select(Observation.case_id, Observation.fingerprint)):
            fingerprints.setdefault(case_id, set()).add(fingerprint)
        return {
            (c.violation, c.place_id, c.camera_id, c.observation_count, frozenset(fingerprints[c.id]))
            for c in s.scalars(select(Case))
        }
