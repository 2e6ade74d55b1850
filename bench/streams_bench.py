"""How many 1080p cameras one machine sustains at 2 sampled fps with motion gating.

Test streams are the shared real clips upscaled to 1920x1080 H.264 at their own frame rate (a keyframe every 2 s,
as CCTV cameras send), read as looping files paced at that frame rate, so every camera costs what a live one does:
all of its frames decoded, 2 a second converted, gated, and the gated-in ones detected. The number of cameras is
ramped; for each count the whole worker (``service.workers.cameras.CameraManager``: readers, motion gate, one
batched detector, rules, case store) runs for a warm-up and a measured window.

With ``--substream 640x360`` each camera also has a low-resolution detect stream (the same clip at that size, as a
CCTV camera's sub-stream): the detector watches it and the 1080p main stream is opened only for evidence.

Reported per count: frames read per camera per second against the clip's rate (decoding keeping up), sampled fps
per camera, frames detected per second, lag from grab to rules done (p50, p99), and CPU (this process, in cores;
the whole machine, in per cent of all cores). Sustained: decoding at >= 95 % of the clip's rate, >= 1.9 sampled
fps per camera and p99 lag under 2 s.

    .venv/bin/python -m bench.streams_bench --clip ../shared/videos/car_park_overhead_intel.mp4 --counts 4 8 12 16
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from service.cases.manager import CaseManager
from service.core.config import Settings
from service.core.registry import SiteRegistry
from service.core.site import Camera, Grid, SiteConfig, Unit
from service.store.blobs import open_blob_store
from service.store.db import database_url, open_store
from service.store.sites import sync_site
from service.workers.cameras import CameraManager
from vision.detections import Detections
from vision.detector import Detector
from vision.stream.reader import Frame, ReaderSettings

SAMPLE_FPS = 2.0
HEADER = (
    "| cameras | read fps/camera (clip) | sampled fps/camera | detected fps | gated | lag p50 s | lag p99 s "
    "| CPU cores (process) | machine CPU | sustained |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def make_stream(clip: Path, out_dir: Path, size: str = "1920x1080") -> Path:
    """``clip`` scaled to ``size`` (WxH) H.264 (veryfast, keyframe every 2 s), cached in ``out_dir``."""
    width, height = size.split("x")
    out = out_dir / f"{clip.stem}_{height}p.mp4"
    if not out.exists():
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise SystemExit("ffmpeg is needed to make the test streams: apt-get install ffmpeg")
        cmd = [ffmpeg, "-v", "error", "-y", "-i", str(clip), "-an", "-vf", f"scale={width}:{height}:flags=bicubic"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
        cmd += ["-force_key_frames", "expr:gte(t,n_forced*2)"]
        subprocess.run([*cmd, str(out)], check=True)
    return out


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


@dataclass(frozen=True)
class Step:
    cameras: int
    read_fps: float  # frames read per camera per second
    clip_fps: float
    sampled_fps: float  # per camera
    detected_fps: float  # all cameras
    gated: float  # fraction of sampled frames held back by the gate
    lag_p50: float | None  # None: no frame was detected in the window (all gated)
    lag_p99: float | None
    cpu_cores: float  # this process
    machine_cpu: float  # whole machine, per cent of all cores

    @property
    def sustained(self) -> bool:
        lag_ok = self.lag_p99 is None or self.lag_p99 < 2.0
        return self.read_fps >= 0.95 * self.clip_fps and self.sampled_fps >= 0.95 * SAMPLE_FPS and lag_ok

    def row(self) -> str:
        return (
            f"| {self.cameras} | {self.read_fps:.1f} / {self.clip_fps:.1f} | {self.sampled_fps:.2f} | "
            f"{self.detected_fps:.1f} | {100 * self.gated:.0f} % | {_s(self.lag_p50)} | {_s(self.lag_p99)} | "
            f"{self.cpu_cores:.2f} | {self.machine_cpu:.0f} % | {'yes' if self.sustained else 'no'} |"
        )


def run_step(
    video: Path,
    sub: Path | None,
    count: int,
    clip_fps: float,
    detector: Detector,
    workdir: Path,
    warmup: float,
    window: float,
) -> Step:
    cameras = [
        Camera(
            id=f"cam-{i:02d}",
            name=f"Camera {i}",
            source=str(video),
            detect_source=None if sub is None else str(sub),
            grid="g",
            sample_fps=SAMPLE_FPS,
        )
        for i in range(count)
    ]
    site = SiteConfig(units=[Unit(id="u", name="U")], grids=[Grid(id="g", name="G", unit="u")], cameras=cameras)
    data = workdir / f"n{count}"
    store = open_store(database_url(data, None))
    with store.transaction() as s:
        sync_site(s, site)
    cases = CaseManager(store, SiteRegistry(site), open_blob_store(Settings(data_dir=data)))
    lags: list[float] = []
    measuring = threading.Event()

    def observe(camera_id: str, frame: Frame, det: Detections) -> None:
        if measuring.is_set():
            lags.append(time.time() - frame.t)

    manager = CameraManager(site, detector, cases, reader=ReaderSettings(loop_files=True), observer=observe)
    manager.start()
    try:
        time.sleep(warmup)
        before = {s.id: s for s in manager.status()}
        cpu0, busy0, t0 = time.process_time(), machine_busy(), time.monotonic()
        measuring.set()
        time.sleep(window)
        measuring.clear()
        cpu1, busy1, elapsed = time.process_time(), machine_busy(), time.monotonic() - t0
        after = manager.status()
    finally:
        manager.stop()
        store.dispose()
    read = sum(s.frames_read - before[s.id].frames_read for s in after)
    sampled = sum(
        (s.frames_read - s.frames_skipped) - (before[s.id].frames_read - before[s.id].frames_skipped) for s in after
    )
    gated = sum(s.frames_gated - before[s.id].frames_gated for s in after)
    detected = sum(s.frames_detected - before[s.id].frames_detected for s in after)
    lag = np.array(lags)
    return Step(
        cameras=count,
        read_fps=read / count / elapsed,
        clip_fps=clip_fps,
        sampled_fps=sampled / count / elapsed,
        detected_fps=detected / elapsed,
        gated=gated / max(1, sampled),
        lag_p50=float(np.percentile(lag, 50)) if len(lag) else None,
        lag_p99=float(np.percentile(lag, 99)) if len(lag) else None,
        cpu_cores=(cpu1 - cpu0) / elapsed,
        machine_cpu=100.0 * (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, action="append", required=True, help="source clip (repeatable)")
    parser.add_argument("--counts", type=int, nargs="+", default=[4, 8, 12, 16, 20, 24])
    parser.add_argument("--model", type=Path, default=Path("models/yolo26n-coco.onnx"))
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured per count")
    parser.add_argument("--threads", type=int, default=0, help="detector threads (0: one per core)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "gridwatch-bench")
    parser.add_argument("--providers", default="auto", help="detector runtime (default auto)")
    parser.add_argument("--substream", metavar="WxH", help="also give each camera a detect stream of this size")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    detector = Detector(args.model, providers=args.providers, threads=args.threads)
    print(f"{os.cpu_count()} CPUs; model {args.model} on {detector.runtime} {detector.providers}, ", end="")
    print(f"{args.threads or 'all'} detector threads; detect stream: {args.substream or 'the 1080p main stream'}")
    for clip in args.clip:
        video = make_stream(clip, args.cache)
        sub = make_stream(clip, args.cache, args.substream) if args.substream else None
        cap = cv2.VideoCapture(str(video))
        clip_fps = cap.get(cv2.CAP_PROP_FPS)
        cap.release()
        print(f"\n{clip.name}: 1920x1080 at {clip_fps:g} fps")
        print(HEADER)
        with tempfile.TemporaryDirectory() as work:
            for count in args.counts:
                step = run_step(video, sub, count, clip_fps, detector, Path(work), args.warmup, args.window)
                print(step.row(), flush=True)


if __name__ == "__main__":
    main()
