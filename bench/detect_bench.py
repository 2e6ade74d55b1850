"""End-to-end detection benchmark: GridWatch's ONNX engine against Ultralytics ``predict``.

Both read the same image files with the same weights and input size, one image at a time, on
the same CPU threads. Also measures inference-only time on a fixed input and the floor implied by
the model's GFLOPs and this machine's measured matrix-multiply GFLOP/s.

Run: ``python -m bench.detect_bench --images DIR [--limit N]`` (needs the [train] extra).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from service.core.config import COCO_MODEL, REPO_ROOT
from vision.detector import Detector
from vision.pipeline import detect_sources
from vision.sources import iter_sources

DEFAULT_WEIGHTS = REPO_ROOT.parent / "shared" / "weights" / "yolo26n.pt"


def machine_gflops(size: int = 2048, repeats: int = 10) -> float:
    """Best float32 matrix-multiply rate of this machine, GFLOP/s, over all cores numpy uses."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_gridwatch(paths: list[str], detector: Detector) -> float:
    """Seconds to read, decode and detect every path, as ``gridwatch detect`` does."""
    start = time.perf_counter()
    n = sum(1 for _ in detect_sources(iter_sources(paths), detector))
    elapsed = time.perf_counter() - start
    assert n == len(paths)
    return elapsed


def bench_ultralytics(paths: list[str], weights: Path, imgsz: int, threads: int) -> float:
    """Seconds for Ultralytics ``YOLO(weights).predict`` over the same paths, streamed."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(threads)
    model = YOLO(str(weights))
    model.predict(paths[0], imgsz=imgsz, verbose=False, device="cpu")  # warm-up
    start = time.perf_counter()
    n = sum(1 for _ in model.predict(paths, imgsz=imgsz, verbose=False, stream=True, device="cpu"))
    elapsed = time.perf_counter() - start
    assert n == len(paths)
    return elapsed


def model_gflops(weights: Path, imgsz: int) -> float:
    """GFLOPs of one forward pass at ``imgsz`` x ``imgsz``, as Ultralytics counts them (2 x MACs)."""
    from ultralytics import YOLO
    from ultralytics.utils.torch_utils import get_flops

    model = YOLO(str(weights)).model
    model.fuse()  # conv+BN folded, as in the exported graph
    return float(get_flops(model, imgsz))


def bench_inference(detector: Detector, imgsz: int, repeats: int) -> tuple[float, float]:
    """Median and best milliseconds of one ``session.run`` on a 1 x 3 x imgsz x imgsz input."""
    blob = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
    for _ in range(3):
        detector.infer(blob)
    times = [_timed(lambda: detector.infer(blob)) * 1000 for _ in range(repeats)]
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True, help="folder of real photos")
    parser.add_argument("--limit", type=int, default=150, help="images to use (default 150)")
    parser.add_argument("--model", type=Path, default=COCO_MODEL, help="ONNX model")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="the same model's .pt weights")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads for both engines")
    parser.add_argument("--repeats", type=int, default=100, help="inference-only repetitions")
    args = parser.parse_args()

    paths = [s.path for s in iter_sources([args.images])][: args.limit]
    if not paths:
        raise SystemExit(f"no images under {args.images}")
    detector = Detector(args.model, providers="cpu", imgsz=args.imgsz, threads=args.threads)
    bench_gridwatch(paths[:5], detector)  # warm-up
    ours = bench_gridwatch(paths, detector)
    theirs = bench_ultralytics(paths, args.weights, args.imgsz, args.threads)
    # the shared VM's speed drifts: take the machine's peak on both sides of the inference timing
    peak = machine_gflops()
    infer_ms, best_ms = bench_inference(detector, args.imgsz, args.repeats)
    peak = max(peak, machine_gflops())
    gflops = model_gflops(args.weights, args.imgsz)
    floor_ms = gflops / peak * 1000
    n = len(paths)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads={args.threads}")
    print(f"images: {n} from {args.images}; model {args.model.name} vs {args.weights.name}; imgsz {args.imgsz}\n")
    print("| engine | images/s | ms/image |")
    print("|---|---:|---:|")
    print(f"| GridWatch (onnxruntime) | {n / ours:.1f} | {ours / n * 1000:.1f} |")
    print(f"| Ultralytics predict (torch) | {n / theirs:.1f} | {theirs / n * 1000:.1f} |")
    print(f"| **ratio** | **{theirs / ours:.2f}x** | |\n")
    print(f"| inference only, 1x3x{args.imgsz}x{args.imgsz} | value |")
    print("|---|---:|")
    print(f"| model GFLOPs | {gflops:.2f} |")
    print(f"| machine float32 matmul GFLOP/s | {peak:.0f} |")
    print(f"| GFLOPs floor, ms | {floor_ms:.1f} |")
    print(f"| onnxruntime median / best, ms | {infer_ms:.1f} / {best_ms:.1f} |")
    print(f"| **inference / floor** (median, best) | **{infer_ms / floor_ms:.2f}x**, {best_ms / floor_ms:.2f}x |")


if __name__ == "__main__":
    main()
