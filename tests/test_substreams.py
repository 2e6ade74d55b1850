"""Camera sub-streams (Frigate's detect role) and decoding no more than sampling needs, against real sources: the
car-park clip served over RTSP (GStreamer) and HTTP MJPEG, and as files."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from service.context import open_context
from service.core.config import Settings
from service.core.site import Camera, Grid, SiteConfig, Unit, Zone, dump_site
from service.store.models import Case, Observation
from service.workers.cameras import CameraManager
from tests.stream_fixtures import MjpegServer, RtspServer, ffmpeg, free_port, wait_for
from vision.detector import Detector
from vision.rules.config import ParkingRule, RulesConfig
from vision.stream.reader import ReaderSettings, StreamReader, StreamState
from vision.stream.still import grab_still

pytest_plugins = ["tests.stream_fixtures"]

MAIN_WH, SUB_WH = (768, 432), (640, 360)
FAST = ReaderSettings(open_timeout_s=5.0, read_timeout_s=2.0, stall_s=4.0, backoff_initial_s=0.2, backoff_max_s=1.0)
WHOLE_FRAME = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


def scaled(clip: Path, out: Path, size: tuple[int, int]) -> Path:
    """``clip`` re-encoded to ``size`` pixels, H.264: a camera's low-resolution sub-stream."""
    cmd = [ffmpeg(), "-v", "error", "-y", "-i", str(clip), "-an", "-vf", f"scale={size[0]}:{size[1]}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def sub_cut(car_cut: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scaled(car_cut, tmp_path_factory.mktemp("sub") / "car_cut_360p.mp4", SUB_WH)


def site(*cameras: Camera) -> SiteConfig:
    return SiteConfig(
        units=[Unit(id="u", name="Unit")],
        grids=[Grid(id="g", name="Grid", unit="u")],
        cameras=list(cameras),
        rules=RulesConfig(parking=ParkingRule(dwell_s=1.0, iou=0.1, gap_s=5.0)),
    )


def camera(main: str, sub: Path) -> Camera:
    zone = Zone.model_validate({"id": "whole", "kind": "no_parking", "polygon": WHOLE_FRAME})
    return Camera(
        id="carpark", name="Car park", source=main, detect_source=str(sub), grid="g", sample_fps=6.0, zones=[zone]
    )


def first_evidence_shape(cam: Camera, tmp_path: Path, detector: Detector) -> tuple[tuple[int, ...], tuple[int, int]]:
    """Run ``cam`` until it opens a case; the shape of the case's original evidence picture and the camera's
    (width, height) as its reader sees it."""
    site_file = tmp_path / "site.yaml"
    dump_site(site(cam), site_file)
    with open_context(Settings(data_dir=tmp_path / "data", site=site_file), detector=detector) as ctx:
        manager = CameraManager(site(cam), detector, ctx.manager, reader=ReaderSettings(loop_files=True))
        manager.start()
        try:

            def cases() -> list[Case]:
                with ctx.store.session() as s:
                    return list(s.scalars(select(Case)))

            wait_for(lambda: len(cases()) > 0, 60, "a parking case seen on the sub-stream", interval=0.25)
            status = manager.camera_status("carpark")
        finally:
            manager.stop()
        with ctx.store.session() as s:
            obs = s.scalars(select(Observation).where(Observation.case_id == cases()[0].id)).first()
        assert obs is not None
        data = ctx.evidence.read(obs.source_sha256, "jpg")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "evidence is not a JPEG"
    return image.shape, (status.width, status.height)


def test_detector_watches_the_sub_stream_and_evidence_comes_from_the_main_stream(
    car_clip: Path, sub_cut: Path, tmp_path: Path, detector: Detector
) -> None:
    main = RtspServer(car_clip, free_port())
    main.start()
    try:
        shape, watched = first_evidence_shape(camera(main.url, sub_cut), tmp_path, detector)
    finally:
        main.kill()
    assert watched == SUB_WH  # detection ran on the sub-stream
    assert shape == (MAIN_WH[1], MAIN_WH[0], 3)  # the evidence is a full-resolution main-stream still


def test_evidence_falls_back_to_the_sub_stream_when_the_main_stream_is_down(
    sub_cut: Path, tmp_path: Path, detector: Detector
) -> None:
    refused = f"rtsp://127.0.0.1:{free_port()}/main"  # nothing listens: the main stream cannot be read
    shape, watched = first_evidence_shape(camera(refused, sub_cut), tmp_path, detector)
    assert watched == SUB_WH and shape == (SUB_WH[1], SUB_WH[0], 3)


def test_still_from_a_live_rtsp_stream(car_clip: Path) -> None:
    server = RtspServer(car_clip, free_port())
    server.start()
    try:
        still = grab_still(server.url, FAST)
    finally:
        server.kill()
    assert still.shape == (MAIN_WH[1], MAIN_WH[0], 3) and still.dtype == np.uint8 and still.std() > 10
    with pytest.raises(OSError, match="cannot open"):
        grab_still(server.url, FAST)  # the server is gone


@pytest.fixture
def reader_list() -> Iterator[list[StreamReader]]:
    made: list[StreamReader] = []
    yield made
    for reader in made:
        assert reader.stop()


def six_sampled(reader: StreamReader) -> bool:
    frame = reader.latest()
    return frame is not None and frame.seq >= 6


def test_mjpeg_decodes_only_sampled_frames_h264_every_frame(
    mjpeg_server: MjpegServer, rtsp_server: RtspServer, reader_list: list[StreamReader]
) -> None:
    mjpeg = StreamReader(mjpeg_server.url, 2.0, settings=FAST, name="mjpeg")
    h264 = StreamReader(rtsp_server.url, 2.0, settings=FAST, name="h264")
    reader_list += [mjpeg, h264]
    for reader in reader_list:
        reader.start()
    for reader in reader_list:
        wait_for(functools.partial(six_sampled, reader), 30, f"6 frames from {reader.name}")
    m, h = mjpeg.status(), h264.status()
    assert m.state is StreamState.ONLINE and (m.width, m.height) == MAIN_WH
    # 12.5 fps sampled at 2: about one JPEG in six decoded, every H.264 frame decoded (inter-coded)
    assert m.decoded <= m.frames_read - m.frames_skipped + 1 and m.decoded * 3 < m.frames_read
    assert h.decoded == h.frames_read and h.frames_skipped > 0


@pytest.mark.parametrize(
    ("detect_source", "error"),
    [
        ("rtsp://user:pw@10.0.0.5:554/Streaming/Channels/102", None),  # Hikvision-style sub-stream
        ("/var/cameras/sub.mp4", None),
        ("ftp://10.0.0.5/sub", "rtsp://"),
        ("rtsp://10.0.0.5:99999/sub", "malformed"),
        ("", "at least 1 character"),
    ],
)
def test_detect_source_is_validated_like_the_main_source(detect_source: str, error: str | None) -> None:
    fields = {"id": "c", "name": "C", "source": "rtsp://10.0.0.5/main", "grid": "g", "detect_source": detect_source}
    if error is None:
        assert Camera.model_validate(fields).detect_source == detect_source
    else:
        with pytest.raises(ValidationError, match=error):
            Camera.model_validate(fields)
