"""Real video sources for the stream tests: the car-park clip cut with ffmpeg, an RTSP server (GStreamer) and an
HTTP MJPEG server, all on free local ports. Missing system tools fail the test with what to install."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "fixtures" / "car_park_overhead_intel.mp4"
RTSP_SERVER = ROOT / "tests" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
GST_PACKAGES = "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.fail("ffmpeg is needed to cut the test clips: install it (Debian: apt-get install ffmpeg)")
    return path


@pytest.fixture(scope="session")
def car_clip() -> Path:
    """The real 768x432 12.5 fps car-park clip (CC BY 4.0, tests/fixtures/ATTRIBUTION.md)."""
    return CLIP


@pytest.fixture(scope="session")
def car_cut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.6 s of the car-park clip (17.5-19.1 s) in which a car drives up the frame, re-encoded to H.264 from a
    keyframe."""
    out = tmp_path_factory.mktemp("clips") / "car_cut.mp4"
    cmd = [ffmpeg(), "-v", "error", "-y", "-ss", "17.5", "-t", "1.6", "-i", str(CLIP)]
    cmd += ["-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, timeout=60)
    return out


class RtspServer:
    """``tests/rtsp_server.py`` serving a file at rtsp://127.0.0.1:PORT/cam; can be killed and started again."""

    def __init__(self, clip: Path, port: int) -> None:
        self.clip, self.port = clip, port
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.clip), str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready" once listening; EOF if it died
        if line.strip() != "ready":
            self.proc.wait(5)
            error = self.proc.stderr.read() if self.proc.stderr else ""
            pytest.fail(f"the RTSP test server did not start ({error.strip()[-300:]}); install {GST_PACKAGES}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def rtsp_server(car_clip: Path) -> Iterator[RtspServer]:
    if not Path(SYSTEM_PYTHON).exists():
        pytest.fail(f"the RTSP test server runs under {SYSTEM_PYTHON} with GStreamer: install {GST_PACKAGES}")
    server = RtspServer(car_clip, free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


class MjpegHandler(BaseHTTPRequestHandler):
    """Request handler base for test cameras: the MJPEG response head, one JPEG part at a time, no request log."""

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()

    def send_part(self, part: bytes) -> None:
        head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(part)}\r\n\r\n"
        self.wfile.write(head.encode() + part + b"\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        return


class LocalHttpServer:
    """A threaded HTTP server on a free loopback port, serving ``handler`` while used as a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/video.mjpg"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class MjpegServer(LocalHttpServer):
    """An HTTP server sending the clip's frames as ``multipart/x-mixed-replace`` JPEG parts at the clip's rate, as
    IP cameras serve MJPEG."""

    def __init__(self, clip: Path, frames: int = 40) -> None:
        cap = cv2.VideoCapture(str(clip))
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 12.5
        self.jpegs: list[bytes] = []
        while len(self.jpegs) < frames:
            ok, image = cap.read()
            if not ok:
                break
            self.jpegs.append(bytes(cv2.imencode(".jpg", image)[1]))
        cap.release()
        jpegs, period = self.jpegs, 1.0 / self.fps

        class Handler(MjpegHandler):
            def do_GET(self) -> None:
                self.start_stream()
                i = 0
                try:
                    while True:
                        self.send_part(jpegs[i % len(jpegs)])
                        i += 1
                        time.sleep(period)
                except (BrokenPipeError, ConnectionResetError):
                    return

        super().__init__(Handler)


@pytest.fixture
def mjpeg_server(car_clip: Path) -> Iterator[MjpegServer]:
    with MjpegServer(car_clip) as server:
        yield server
