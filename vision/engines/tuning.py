"""Which CPU runtime is fastest for a model on this machine, measured on the model itself, once.

The answer depends on the CPU (OpenVINO's kernels and onnxruntime's are tuned for different instruction sets:
bench/README.md), on the model and on the thread count, so no rule on the CPU's flags predicts it.
``--providers auto`` on a CPU therefore loads the model on both runtimes (FP32: the two agree to 1e-3 on the
boxes, tests/test_backends.py), times them in alternating rounds on an input of the model's shape, and keeps the
faster. The result is kept in memory for the process and, where a cache file is given, on disk, keyed by the
model's content, the CPU, both runtimes' versions, the threads and the mode, so the next start reuses it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnxruntime as ort

from domain.errors import ModelError
from vision.engines import Engine, Mode
from vision.providers import Runtime, cpu_flags

log = logging.getLogger(__name__)

# OpenVINO must win by 10 %: a closer call is within run-to-run noise, and onnxruntime is the reference runtime.
MARGIN = 0.9
WARMUP = 3  # runs per engine before timing: first runs allocate and JIT-select kernels
ROUNDS = 9  # timed runs per engine, interleaved so a load change on the machine hits both alike
BATCH: dict[Mode, int] = {"latency": 1, "throughput": 4}  # a camera frame; a slice of a photo batch

_memo: dict[str, Trial] = {}


@dataclass(frozen=True)
class Trial:
    """One measurement: median milliseconds per run of each runtime, and the one kept.

    Attributes:
        runtime: the faster runtime by the :data:`MARGIN` rule.
        onnxruntime_ms: median milliseconds per run on onnxruntime's CPU provider.
        openvino_ms: the same on OpenVINO FP32.
        batch: images per run.
        cpu: the CPU it was measured on (model name as the OS gives it).
        measured_at: ISO 8601 time of the measurement, UTC.
    """

    runtime: Runtime
    onnxruntime_ms: float
    openvino_ms: float
    batch: int
    cpu: str
    measured_at: str


def pick(onnxruntime_ms: float, openvino_ms: float) -> Runtime:
    """The runtime to keep for two median times: OpenVINO only when it is clearly (:data:`MARGIN`) faster."""
    return "openvino" if openvino_ms < MARGIN * onnxruntime_ms else "onnxruntime"


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (x86 ``model name``), else what the platform module says."""
    try:
        for line in cpuinfo.read_text(encoding="ascii", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tuning_key(model_sha256: str, threads: int, mode: Mode, openvino_version: str) -> str:
    """What the answer depends on, hashed: the model's bytes (their SHA-256), the CPU, both runtimes' versions,
    threads, mode."""
    parts = [
        model_sha256,
        cpu_name(),
        " ".join(sorted(cpu_flags())),
        ort.__version__,
        openvino_version,
        str(threads or os.cpu_count()),
        mode,
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _input_size(engine: Engine) -> tuple[int, int]:
    """(H, W) to time at: the fixed input, else the size the model was exported at, else 640."""
    h, w = engine.input_shape[2:4]
    if isinstance(h, int) and isinstance(w, int):
        return h, w
    try:
        size = ast.literal_eval(engine.metadata.get("imgsz", "[640, 640]"))
        return (int(size[0]), int(size[1])) if isinstance(size, list | tuple) else (int(size), int(size))
    except (ValueError, SyntaxError, TypeError, IndexError):
        return 640, 640


def time_engines(engines: dict[Runtime, Engine], batch: int, rounds: int = ROUNDS) -> dict[Runtime, float]:
    """Median milliseconds per run of each engine on one (batch, 3, H, W) input of uniform noise, in
    interleaved rounds after :data:`WARMUP` runs each."""
    first = next(iter(engines.values()))
    h, w = _input_size(first)
    blob = np.random.default_rng(0).random((batch, 3, h, w), dtype=np.float32)
    blobs = {name: blob.astype(e.input_dtype, copy=False) for name, e in engines.items()}
    for name, engine in engines.items():
        for _ in range(WARMUP):
            engine.run(blobs[name])
    times: dict[Runtime, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.run(blobs[name])
            times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: statistics.median(values) for name, values in times.items()}


def _read_cache(cache: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: measured again and written anew
    return data if isinstance(data, dict) else {}


def _write_cache(cache: Path, key: str, trial: Trial) -> None:
    """Add ``trial`` to ``cache`` atomically (a crash leaves the old file); a cache that cannot be written only
    costs a measurement at the next start."""
    entries = _read_cache(cache)
    entries[key] = asdict(trial)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entries, f, indent=1, sort_keys=True)
        os.replace(tmp, cache)
    except OSError as exc:
        log.warning("runtime choice not cached in %s: %s", cache, exc)


def _cached(cache: Path | None, key: str) -> Trial | None:
    if key in _memo:
        return _memo[key]
    entry = _read_cache(cache).get(key) if cache is not None else None
    if not isinstance(entry, dict) or entry.get("runtime") not in ("onnxruntime", "openvino"):
        return None
    try:
        trial = Trial(
            "openvino" if entry["runtime"] == "openvino" else "onnxruntime",
            float(str(entry["onnxruntime_ms"])),
            float(str(entry["openvino_ms"])),
            int(str(entry["batch"])),
            str(entry["cpu"]),
            str(entry["measured_at"]),
        )
    except (KeyError, ValueError):  # written by another version of this module: measured again
        return None
    _memo[key] = trial
    return trial


def fastest_cpu_engine(
    path: Path,
    open_ort: Callable[[], Engine],
    open_openvino: Callable[[], Engine],
    *,
    model_sha256: str,
    threads: int,
    mode: Mode,
    openvino_version: str,
    cache: Path | None = None,
) -> tuple[Engine, Trial | None]:
    """The faster of onnxruntime and OpenVINO (FP32) for ``path`` here, loaded, and the trial that chose it.

    Where ``open_openvino`` raises :class:`ModelError` (OpenVINO cannot load, or cannot run this model: an INT8
    file), onnxruntime runs it and there is no trial. A choice made before for the same key (this process, or
    ``cache``) is reused without measuring.
    """
    ort_engine = open_ort()  # first: a file no runtime can load fails here, with onnxruntime's reason
    key = tuning_key(model_sha256, threads, mode, openvino_version)
    known = _cached(cache, key)
    if known is not None and known.runtime == "onnxruntime":
        return ort_engine, known
    try:
        ov_engine = open_openvino()
    except ModelError as exc:
        log.info("%s: onnxruntime (OpenVINO cannot run it: %s)", path.name, exc)
        return ort_engine, None
    if known is not None:
        return ov_engine, known
    engines: dict[Runtime, Engine] = {"onnxruntime": ort_engine, "openvino": ov_engine}
    batch = BATCH[mode]
    ms = time_engines(engines, batch)
    trial = Trial(
        pick(ms["onnxruntime"], ms["openvino"]),
        round(ms["onnxruntime"], 2),
        round(ms["openvino"], 2),
        batch,
        cpu_name(),
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
    log.info(
        "%s on %s: onnxruntime %.1f ms, OpenVINO %.1f ms per run of %d: %s",
        path.name,
        trial.cpu,
        trial.onnxruntime_ms,
        trial.openvino_ms,
        batch,
        trial.runtime,
    )
    _memo[key] = trial
    if cache is not None:
        _write_cache(cache, key, trial)
    return engines[trial.runtime], trial
