"""The camera reader against real sources: an RTSP server (GStreamer) that dies and comes back, an HTTP MJPEG
server, and video files, all decoded by OpenCV's FFmpeg backend."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.stream_fixtures import MjpegServer, RtspServer, free_port, wait_for
from vision.motion import MotionGate, MotionSettings
from vision.stream.reader import ReaderSettings, StreamReader, StreamState, is_url, redact_source, usable

pytest_plugins = ["tests.stream_fixtures"]

FAST = ReaderSettings(open_timeout_s=5.0, read_timeout_s=2.0, stall_s=4.0, backoff_initial_s=0.2, backoff_max_s=1.0)
CLIP_WH = (768, 432)


@pytest.fixture
def readers() -> Iterator[list[StreamReader]]:
    """Readers to stop after the test, whatever happens."""
    made: list[StreamReader] = []
    yield made
    for reader in made:
        assert reader.stop(), f"reader {reader.name} did not stop"


def start(readers: list[StreamReader], source: str, fps: float = 2.0, **kwargs: object) -> StreamReader:
    reader = StreamReader(source, fps, name=f"r{len(readers)}", **kwargs)  # type: ignore[arg-type]
    readers.append(reader)
    reader.start()
    return reader


def sampled(reader: StreamReader) -> int:
    frame = reader.latest()
    return frame.seq if frame else 0


def test_rtsp_stream_is_sampled_at_the_configured_rate(rtsp_server: RtspServer, readers: list[StreamReader]) -> None:
    reader = start(readers, rtsp_server.url, 2.0, settings=FAST)
    wait_for(lambda: sampled(reader) >= 7, 30, "7 sampled RTSP frames")
    status = reader.status()
    assert status.state is StreamState.ONLINE and (status.width, status.height) == CLIP_WH
    # 2 fps sampled out of the clip's 12.5: most grabbed frames are never converted (counted, not timed: a busy
    # machine changes the measured rate, not which frames the sampler passes over)
    assert status.fps > 0 and status.frames_skipped > status.frames_read / 2
    frame = reader.take()
    assert frame is not None and frame.image.shape == (432, 768, 3) and frame.image.dtype == np.uint8
    assert reader.take() is None  # taken: the slot is empty until the next sample


def test_rtsp_stream_that_dies_goes_offline_and_reconnects(
    rtsp_server: RtspServer, readers: list[StreamReader]
) -> None:
    reader = start(readers, rtsp_server.url, 4.0, settings=FAST)
    wait_for(lambda: reader.status().state is StreamState.ONLINE, 30, "the RTSP stream to come online")
    rtsp_server.kill()
    # the session ends (OFFLINE, with its error) a moment before the thread counts the reconnect: wait for both
    wait_for(
        lambda: reader.status().state is not StreamState.ONLINE and reader.status().reconnects >= 1,
        15,
        "the reader to notice the server died and schedule a reconnect",
    )
    assert reader.status().last_error
    before = sampled(reader)
    wait_for(lambda: reader.status().reconnects >= 2, 15, "a failed reconnect while the server is down")
    rtsp_server.start()  # same port, as a camera coming back after a reboot
    wait_for(lambda: sampled(reader) >= before + 4, 40, "frames after the server came back")
    assert reader.status().state is StreamState.ONLINE


def test_http_mjpeg_stream(mjpeg_server: MjpegServer, readers: list[StreamReader]) -> None:
    reader = start(readers, mjpeg_server.url, 3.0, settings=FAST)
    wait_for(lambda: sampled(reader) >= 6, 20, "6 sampled MJPEG frames")
    status = reader.status()
    assert status.state is StreamState.ONLINE and (status.width, status.height) == CLIP_WH
    assert status.frames_rejected == 0 and status.frames_skipped > 0


def test_file_plays_at_its_own_pace_and_loops(car_cut: Path, readers: list[StreamReader]) -> None:
    looping = start(readers, str(car_cut), 5.0, settings=ReaderSettings(loop_files=True))
    once = start(readers, str(car_cut), 5.0)
    # the reader reports the end of the file just before its thread returns: wait for both
    ended = lambda: once.status().state is StreamState.OFFLINE and sampled(once) > 0 and not once.running  # noqa: E731
    wait_for(ended, 15, "the file to end")
    assert once.status().last_error == "end of file"
    # 1.6 s at 12.5 fps is 20 frames, every one read; sampling at 5 fps converts some and passes over the rest
    status = once.status()
    assert status.frames_read == 20 and sampled(once) + status.frames_skipped + status.frames_rejected == 20
    assert 0 < sampled(once) < 20 and status.frames_skipped > 0
    wait_for(lambda: looping.status().frames_read > 45, 15, "the looping file to go round twice")
    status = looping.status()
    assert status.state is StreamState.ONLINE and status.reconnects == 0 and status.last_error is None


def test_back_pressure_keeps_the_latest_frame(car_cut: Path, readers: list[StreamReader]) -> None:
    reader = start(readers, str(car_cut), 10.0, settings=ReaderSettings(loop_files=True))
    wait_for(lambda: reader.status().frames_dropped >= 3, 15, "frames dropped with no consumer")
    frame = reader.take()
    latest = reader.latest()
    assert frame is not None and latest is not None and frame.seq == latest.seq


def test_motion_gate_holds_back_static_frames(tmp_path: Path, readers: list[StreamReader]) -> None:
    """A still picture as a video: the first frame passes, the rest are gated, except the forced refreshes."""
    path = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 20.0, (320, 180))
    still = np.full((180, 320, 3), 90, np.uint8)
    cv2.rectangle(still, (100, 50), (200, 120), (30, 200, 30), -1)
    for _ in range(60):
        writer.write(still)
    writer.release()
    gate = MotionGate(MotionSettings(refresh_s=1.0))
    reader = start(readers, str(path), 10.0, gate=gate)
    wait_for(lambda: not reader.running, 15, "the 3 s still video to end")
    status = reader.status()
    offered = sampled(reader) - status.frames_gated
    # the first frame, then a forced refresh once a second: the video lasts at least 3 s however busy the machine,
    # so at least one refresh; every other sampled frame is gated
    assert offered >= 2 and status.frames_gated > 0


def test_missing_file_and_refused_connection_back_off(readers: list[StreamReader]) -> None:
    missing = start(readers, "/nonexistent/camera.mp4", settings=FAST)
    refused = start(readers, f"rtsp://127.0.0.1:{free_port()}/cam", settings=FAST)
    wait_for(lambda: refused.status().reconnects >= 2 and missing.status().reconnects >= 2, 15, "two back-offs")
    assert missing.status().last_error == "no such file: /nonexistent/camera.mp4"
    assert refused.status().state is not StreamState.ONLINE and "cannot open" in (refused.status().last_error or "")


def test_backoff_grows_is_capped_and_jittered() -> None:
    s = ReaderSettings(backoff_initial_s=0.5, backoff_max_s=8.0)
    rng = random.Random(1)
    delays = [[s.backoff(attempt, rng) for _ in range(50)] for attempt in range(1, 9)]
    for attempt, ds in enumerate(delays, start=1):
        top = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert all(top / 2 <= d <= top for d in ds) and len(set(ds)) > 1


def test_garbage_frames_are_not_usable() -> None:
    good = np.zeros((432, 768, 3), np.uint8)
    assert usable(good, None) and usable(good, good.shape)
    assert not usable(None, None)
    assert not usable(np.zeros((0, 0, 3), np.uint8), None)
    assert not usable(np.zeros((432, 768), np.uint8), None)  # grey
    assert not usable(np.zeros((432, 768, 4), np.uint8), None)  # BGRA
    assert not usable(good.astype(np.float32), None)
    assert not usable(np.zeros((8, 8, 3), np.uint8), None)
    assert not usable(np.zeros((216, 384, 3), np.uint8), good.shape)  # not the stream's size


def test_sources_and_redaction() -> None:
    assert is_url("RTSP://cam/1") and is_url("https://cam/mjpg") and not is_url("/data/clip.mp4")
    # all user information goes: a token alone (rtsp://TOKEN@host) cannot be told from a user name
    assert redact_source("rtsp://admin:hunter2@10.0.0.5:554/s1") == "rtsp://***@10.0.0.5:554/s1"
    assert redact_source("rtsp://10.0.0.5/s1") == "rtsp://10.0.0.5/s1"
    assert redact_source("rtmp://cam:secret@10.0.0.6/live") == "rtmp://***@10.0.0.6/live"  # any scheme
    with pytest.raises(ValueError, match="sample_fps"):
        StreamReader("x.mp4", 0.0)
