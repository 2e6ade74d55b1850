"""Detection on real photos, side by side in one run: GridWatch on each backend against Ultralytics ``predict`` with
the PyTorch weights and with Ultralytics' own OpenVINO export of them.

Every engine reads the same files with the same weights at the same input size, one image at a time, on the same
CPU threads, after a warm-up. Per engine:

- **end to end**: read file -> decode -> letterbox -> infer -> boxes, over the folder. GridWatch runs its ``gridwatch
  detect`` pipeline (``vision.pipeline.detect_sources``: decoding on worker threads while the detector runs);
  Ultralytics runs ``YOLO(model).predict(paths, stream=True)``. Wall seconds and CPU-seconds of the process (all
  threads), so parallel decoding shows as what it is.
- **inference only**: the network alone on each photo's letterboxed input, median ms over the photos (GridWatch:
  ``Detector.infer``; Ultralytics: the ``inference`` time it reports per image).
- **OpenVINO on older CPUs**: OpenVINO FP32 inference with oneDNN capped at AVX2 and at AVX
  (``ONEDNN_MAX_CPU_ISA``), each in a subprocess, against onnxruntime on the full CPU: where OpenVINO capped at
  AVX2 still beats onnxruntime with AVX-512, it beats it on an AVX2 CPU too (the ``auto`` rule, vision/providers.py).

Run: ``python -m bench.detect_bench --images DIR [--limit N]`` (needs the [train] extra for the Ultralytics side).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from service.core.config import COCO_MODEL, REPO_ROOT
from vision.detector import Detector
from vision.engines import Mode
from vision.imageio import read_image
from vision.pipeline import detect_sources
from vision.providers import cpu_flags, native_precisions
from vision.sources import iter_sources

DEFAULT_WEIGHTS = REPO_ROOT.parent / "shared" / "weights" / "yolo26n.pt"
# The flags that decide the runtime and precision (vision/providers.py), as /proc/cpuinfo names them
NAMED_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


@dataclass(frozen=True)
class Run:
    """One engine over the photos: end-to-end wall and CPU seconds, and median inference ms per photo."""

    engine: str
    wall_s: float
    cpu_s: float
    infer_ms: float


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_gridwatch(name: str, paths: list[str], detector: Detector, imgsz: int, batch: int = 1) -> Run:
    def run() -> None:
        results = detect_sources(iter_sources(paths), detector, batch_size=batch)
        assert sum(1 for r in results if r.detections is not None) == len(paths)

    list(detect_sources(iter_sources(paths[:5]), detector, batch_size=batch))  # warm-up
    wall, cpu = _timed(run)
    blobs = [detector.prepare([read_image(p, target=imgsz).pixels]).blob for p in paths]
    times = []
    for blob in blobs:
        start = time.perf_counter()
        detector.infer(blob)
        times.append((time.perf_counter() - start) * 1000)
    return Run(name, wall, cpu, statistics.median(times))


def bench_ultralytics(name: str, paths: list[str], model: str, imgsz: int) -> Run:
    """Ultralytics ``predict`` streamed over ``paths``; inference ms as it reports them."""
    from ultralytics import YOLO

    yolo = YOLO(model, task="detect")
    yolo.predict(paths[:5], imgsz=imgsz, verbose=False, device="cpu")  # warm-up
    speeds: list[float] = []

    def run() -> None:
        for result in yolo.predict(paths, imgsz=imgsz, verbose=False, stream=True, device="cpu"):
            speeds.append(result.speed["inference"])

    wall, cpu = _timed(run)
    assert len(speeds) == len(paths)
    return Run(name, wall, cpu, statistics.median(speeds))


def openvino_export(weights: Path, imgsz: int, cache: Path) -> Path:
    """Ultralytics' OpenVINO export of ``weights`` (FP32, its defaults), made once into ``cache``."""
    from ultralytics import YOLO

    out = cache / f"{weights.stem}_{imgsz}_openvino_model"
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        local = cache / weights.name
        local.write_bytes(weights.read_bytes())  # export writes beside the weights
        exported = Path(YOLO(str(local)).export(format="openvino", imgsz=imgsz, half=False, int8=False))
        exported.rename(out)
    return out


def capped_isa_ms(model: Path, imgsz: int, threads: int, isa: str) -> float | None:
    """Median OpenVINO FP32 inference ms on a 1 x 3 x imgsz x imgsz input with oneDNN capped at ``isa``; None if it
    cannot run there."""
    code = (
        "import json, statistics, time, numpy as np, sys\n"
        "from vision.detector import Detector\n"
        f"d = Detector({str(model)!r}, providers='openvino', precision='fp32', threads={threads})\n"
        f"x = np.random.default_rng(0).random((1, 3, {imgsz}, {imgsz}), dtype=np.float32)\n"
        "[d.infer(x) for _ in range(5)]\n"
        "t = []\n"
        "for _ in range(50):\n"
        "    s = time.perf_counter(); d.infer(x); t.append((time.perf_counter() - s) * 1000)\n"
        "print(json.dumps(statistics.median(t)))\n"
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": isa}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    return float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None


def fixed_ms(detector: Detector, imgsz: int) -> float:
    """Median inference ms of ``detector`` on a 1 x 3 x imgsz x imgsz input (as :func:`capped_isa_ms` measures)."""
    import numpy as np

    x = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
    for _ in range(5):
        detector.infer(x)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        detector.infer(x)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def gridwatch_backends(
    model: Path, int8: Path | None, baseline: Path | None = None
) -> Iterator[tuple[str, Path, str, str, int]]:
    """(name, model, providers, precision, batch) of each backend this CPU offers; batch 4 runs OpenVINO's
    throughput mode (a batch's photos as parallel requests). ``baseline``: an earlier model, on onnxruntime FP32
    beside the others (a new default against the one it replaces, in one run)."""
    yield "GridWatch onnxruntime FP32", model, "cpu", "fp32", 1
    if baseline is not None:
        yield f"GridWatch onnxruntime FP32, baseline {baseline.name}", baseline, "cpu", "fp32", 1
    yield "GridWatch OpenVINO FP32", model, "openvino", "fp32", 1
    yield "GridWatch OpenVINO FP32, batch 4 (throughput)", model, "openvino", "fp32", 4
    if "bf16" in native_precisions():
        yield "GridWatch OpenVINO BF16", model, "openvino", "bf16", 1
    if int8 is not None:
        yield "GridWatch onnxruntime INT8", int8, "cpu", "fp32", 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True, help="folder of real photos")
    parser.add_argument("--limit", type=int, default=150, help="images to use (default 150)")
    parser.add_argument("--model", type=Path, default=COCO_MODEL, help="ONNX model")
    parser.add_argument("--int8", type=Path, help="its INT8 copy (gridwatch quantize), to measure too")
    parser.add_argument("--baseline", type=Path, help="an earlier model, measured beside it on onnxruntime FP32")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="the same model's .pt weights")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads for every engine")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/gridwatch-bench"), help="Ultralytics export cache")
    parser.add_argument("--no-ultralytics", action="store_true", help="GridWatch backends only")
    args = parser.parse_args()

    paths = [s.path for s in iter_sources([args.images])][: args.limit]
    if not paths:
        raise SystemExit(f"no images under {args.images}")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    runs: list[Run] = []
    auto = Detector(args.model, imgsz=args.imgsz, threads=args.threads)
    for name, model, providers, precision, batch in gridwatch_backends(args.model, args.int8, args.baseline):
        mode: Mode = "throughput" if batch > 1 else "latency"
        detector = Detector(
            model, providers=providers, precision=precision, imgsz=args.imgsz, threads=args.threads, mode=mode
        )
        runs.append(bench_gridwatch(name, paths, detector, args.imgsz, batch))
    if not args.no_ultralytics:
        import torch

        torch.set_num_threads(args.threads)
        exported = openvino_export(args.weights, args.imgsz, args.cache)
        runs.append(bench_ultralytics("Ultralytics predict, PyTorch", paths, str(args.weights), args.imgsz))
        runs.append(bench_ultralytics("Ultralytics predict, its OpenVINO export", paths, str(exported), args.imgsz))

    flags = cpu_flags()
    n = len(paths)
    print(f"CPU: {platform.machine()}, {os.cpu_count()} cores, flags: {' '.join(f for f in NAMED_FLAGS if f in flags)}")
    print(f"threads {args.threads}; {n} photos from {args.images}; model {args.model.name}, imgsz {args.imgsz}")
    print(f"auto picks: {auto.runtime} {auto.providers}\n")
    print("| engine | end to end, images/s | wall s | CPU-s | CPU-s per image | inference only, median ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r.engine} | {n / r.wall_s:.1f} | {r.wall_s:.2f} | {r.cpu_s:.2f} | {r.cpu_s / n * 1000:.0f} ms "
            f"| {r.infer_ms:.1f} |"
        )
    chosen = auto.providers[0].split(":")[-1].upper() if auto.runtime == "openvino" else "FP32"
    ours = next(r for r in runs if r.engine == f"GridWatch {auto.runtime.replace('openvino', 'OpenVINO')} {chosen}")
    best = min(runs, key=lambda r: r.infer_ms)
    print(
        f"\nGridWatch auto = {ours.engine}; best inference: {best.engine} ({best.infer_ms:.1f} ms): "
        f"auto at {ours.infer_ms / best.infer_ms:.2f}x"
    )
    for r in runs:
        if r.engine.startswith("Ultralytics"):
            wall, cpu = r.wall_s / ours.wall_s, r.cpu_s / ours.cpu_s
            print(f"vs {r.engine}: end to end {wall:.2f}x faster, {cpu:.2f}x fewer CPU-s")

    ort_ms = fixed_ms(Detector(args.model, providers="cpu", threads=args.threads), args.imgsz)
    print(f"\n| inference, 1x3x{args.imgsz}x{args.imgsz}, median of 50 | ms |\n|---|---:|")
    print(f"| onnxruntime FP32, full CPU | {ort_ms:.1f} |")
    for isa in ("", "AVX512_CORE", "AVX2", "AVX"):
        ms = capped_isa_ms(args.model, args.imgsz, args.threads, isa)
        label = f"capped at {isa}" if isa else "full CPU"
        print(f"| OpenVINO FP32, {label} | {'fails' if ms is None else f'{ms:.1f}'} |")
    print("\n" + json.dumps({"runs": [r.__dict__ for r in runs]}))


if __name__ == "__main__":
    main()
