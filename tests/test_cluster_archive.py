"""A photo archive scanned on a local Ray cluster (Ray Data over 2 detector actors writing to PostgreSQL) gives
the same cases and the same report as the single-process scan of the same archive."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from cli.main import main
from domain.errors import ClusterError, ScanError
from service.cluster.archive import scan_on_ray
from service.cluster.engine import Engine, check_shared_store, parse_engine, portable
from service.context import open_context
from service.core.config import Settings
from service.scan import PhotoScan, scan
from tests.cluster_fixtures import PLACE, case_set
from tests.conftest import SAMPLES
from tests.db_fixtures import throwaway_pg_database

pytest_plugins = ["tests.cluster_fixtures"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zip of the samples, each photo twice (a copy under another name), plus a file that is not a photo."""
    path = tmp_path_factory.mktemp("archive") / "patrol.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for photo in sorted(SAMPLES.glob("*.jpg")):
            zf.write(photo, f"day1/{photo.name}")
            zf.write(photo, f"day2/copy-of-{photo.name}")
        zf.writestr("day2/broken.jpg", b"not a jpeg")
    return path


def test_an_archive_split_across_actors_gives_the_cases_of_a_single_process_scan(
    ray_cluster: None, archive: Path, place_site: Path, tmp_path: Path
) -> None:
    with throwaway_pg_database() as local_url, throwaway_pg_database() as ray_url:
        # One inference thread in both runs: ONNX Runtime's sums in another order can move a box's 4th decimal,
        # which is part of a sighting's fingerprint.
        local = Settings(data_dir=tmp_path / "local", database_url=local_url, site=place_site, threads=1)
        with open_context(local) as ctx:
            alone = scan([archive], ctx, place=PLACE)
            expected = case_set(ctx.store)

        seen: list[tuple[PhotoScan, int, int]] = []
        spread = Settings(data_dir=tmp_path / "ray", database_url=ray_url, site=place_site, threads=1)
        with open_context(spread) as ctx:
            report = scan_on_ray(
                [archive], ctx, place=PLACE, progress=lambda *done: seen.append(done), actors=2, batch_size=2
            )
            assert case_set(ctx.store) == expected
        evidence = sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("*.jpg"))
    assert evidence == sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*.jpg"))
    assert report.to_json() == alone.to_json() and report.errors == alone.errors
    assert report.photos == 2 * len(list(SAMPLES.glob("*.jpg"))) + 1 and report.failed == 1
    assert report.violations > 0 and expected
    assert sorted(done for _, done, _ in seen) == list(range(1, report.photos + 1))
    assert sum(report.per_actor.values()) == report.photos and len(report.per_actor) == 2  # both actors worked


def test_the_driver_checks_the_batch_before_any_actor_starts(
    ray_cluster: None, place_site: Path, tmp_path: Path
) -> None:
    with open_context(Settings(data_dir=tmp_path, site=place_site)) as ctx:
        with pytest.raises(ScanError, match="unknown place"):
            scan_on_ray([SAMPLES], ctx, place="nowhere")
        assert scan_on_ray([tmp_path / "empty"], ctx).photos == 1  # a missing path: one failed photo, as locally


def test_cluster_addresses_and_shared_stores() -> None:
    assert parse_engine("local").is_local and not parse_engine("auto").is_local
    assert parse_engine("ray://head:10001") == Engine("ray://head:10001")
    assert parse_engine("10.0.0.5:6379").address == "10.0.0.5:6379"
    with pytest.raises(ClusterError, match="--cluster takes"):
        parse_engine("head")
    check_shared_store("sqlite:///data/gridwatch.db", nodes=1)
    check_shared_store("postgresql+psycopg://db/gridwatch", nodes=8)
    with pytest.raises(ClusterError, match="shared store"):
        check_shared_store("sqlite:///data/gridwatch.db", nodes=2)
    # Actors run in another working directory: relative paths are made absolute before they travel.
    moved = portable(Settings(data_dir=Path("data"), site=Path("site.yaml"), model=Path("models/m.onnx")))
    assert (moved.data_dir, moved.site, moved.model) == tuple(
        Path(p).resolve() for p in ("data", "site.yaml", "models/m.onnx")
    )


def test_gridwatch_scan_on_the_cluster(
    ray_cluster: None,
    archive: Path,
    place_site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GRIDWATCH_DATA_DIR", str(tmp_path))  # the default SQLite store: fine on one node
    monkeypatch.setenv("GRIDWATCH_THREADS", "1")
    args = ["scan", str(archive), "--site", str(place_site), "--place", PLACE, "--format", "jsonl"]
    assert main([*args, "--cluster", "auto", "--actors", "2"]) == 0
    out, notes = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2 * len(list(SAMPLES.glob("*.jpg"))) + 1 and "actors: 2" in notes
    with pytest.raises(SystemExit) as refused:
        main([*args, "--cluster", "nowhere"])
    assert refused.value.code == 2 and "--cluster takes" in capsys.readouterr().err
