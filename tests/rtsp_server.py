"""A local RTSP server for the stream tests and benchmark: serves an H.264 MP4 file at rtsp://127.0.0.1:PORT/cam.

Runs under the system Python with GStreamer's RTSP server (Debian: python3-gi gir1.2-gst-rtsp-server-1.0
gstreamer1.0-plugins-good gstreamer1.0-plugins-bad): ``/usr/bin/python3 tests/rtsp_server.py FILE PORT``. It prints
``ready`` once it listens and serves until killed. Every client shares one pipeline, as clients of a real camera do.
"""

from __future__ import annotations

import sys

import gi  # type: ignore[import-not-found]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found]  # noqa: E402

PIPELINE = "( filesrc location={path} ! qtdemux ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )"


def main(path: str, port: int) -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE.format(path=path))
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
