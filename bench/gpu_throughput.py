"""Batched GPU throughput of a shipped ONNX model, for a lent CUDA machine (``python -m bench.gpu_throughput``).

Runs the model with onnxruntime's TensorRT and CUDA providers where the installed onnxruntime has them. Where it has
not (the plain ``onnxruntime`` wheel is CPU-only and ``onnxruntime-gpu`` is a 255 MB wheel), the same ONNX graph
runs on the GPU through PyTorch (``onnx2torch``, carried as a wheel): before any timing, that conversion is checked
against onnxruntime on the CPU on real letterboxed photos, and the largest difference is reported beside the
figures, so a wrong conversion cannot pass for a fast one.

Timing: the input batch (B, 3, S, S) float32 already on the GPU, a warm-up, then the host clock around each
forward pass and a device synchronisation, repeated for about ``--seconds`` per setting; the median milliseconds
per batch and images per second. Decoding,
letterboxing and the box decoding on the host are not included (``bench/detect_bench.py`` measures those).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort

from vision.imageio import read_image
from vision.preprocess import make_batch
from vision.sources import IMAGE_SUFFIXES

# onnx2torch knows these operators up to opset 17; opset 18 changed only how their axes are passed.
_TORCH_OPSET = 17


def torch_compatible(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of an opset-18 graph that onnx2torch can convert: ReduceMax's ``axes`` input becomes an attribute.

    Split already passes its sizes as an input (the opset-13 form) and Resize uses no opset-18 attribute, so the
    graph is otherwise unchanged; the caller checks the conversion against onnxruntime.

    Raises:
        ValueError: a ReduceMax whose axes are not a constant initializer.
    """
    out = onnx.ModelProto()
    out.CopyFrom(model)
    consts = {init.name: onnx.numpy_helper.to_array(init) for init in out.graph.initializer}
    for node in out.graph.node:
        if node.op_type == "ReduceMax" and len(node.input) == 2:
            if node.input[1] not in consts:
                raise ValueError(f"ReduceMax {node.name!r}: axes {node.input[1]!r} are not a constant")
            node.attribute.append(onnx.helper.make_attribute("axes", [int(a) for a in consts[node.input[1]]]))
            del node.input[1]
    for opset in out.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = _TORCH_OPSET
    return out


def real_batch(images_dir: Path, count: int, imgsz: int) -> npt.NDArray[np.float32]:
    """``count`` real photos from ``images_dir`` letterboxed as the detector does: (count, 3, imgsz, imgsz)."""
    paths = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:count]
    if not paths:
        raise ValueError(f"no photos in {images_dir}")
    return make_batch([read_image(p).pixels for p in paths], imgsz, 32, rect=False).blob


def time_gpu(run: Callable[[], Any], seconds: float, sync: Callable[[], None]) -> float:
    """Median milliseconds of one ``run()`` over about ``seconds`` of repeats, after a warm-up.

    ``sync`` waits for the device; each repeat is timed from host to a finished device.
    """
    for _ in range(5):
        run()
    sync()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        run()
        sync()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))


def torch_rows(
    model: onnx.ModelProto, probe: npt.NDArray[np.float32], batches: Sequence[int], seconds: float
) -> tuple[list[dict[str, object]], dict[str, float]]:
    """Throughput rows of the graph in PyTorch on the GPU (fp32 with TF32 off, TF32, fp16), and its fidelity.

    Returns:
        (rows: engine, precision, batch, ms per batch, images/s; max |difference| from onnxruntime CPU per
        precision, over the probe photos).
    """
    import onnx2torch
    import torch

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = session.run(None, {session.get_inputs()[0].name: probe})[0]
    net = onnx2torch.convert(torch_compatible(model)).eval().cuda()
    rows: list[dict[str, object]] = []
    fidelity: dict[str, float] = {}
    settings = (("fp32", torch.float32, False), ("tf32", torch.float32, True), ("fp16", torch.float16, True))
    for name, dtype, tf32 in settings:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        typed = net.to(dtype)
        with torch.inference_mode():
            got = typed(torch.from_numpy(probe).cuda().to(dtype)).float().cpu().numpy()
            fidelity[name] = float(np.abs(got - reference).max())
            for batch in batches:
                x = torch.from_numpy(np.resize(probe, (batch, *probe.shape[1:]))).cuda().to(dtype)
                ms = time_gpu(partial(typed, x), seconds, torch.cuda.synchronize)
                rows.append({"engine": "pytorch (onnx2torch)", "precision": name, "batch": batch, "ms": ms,
                             "images_per_s": batch * 1000.0 / ms})  # fmt: skip
    return rows, fidelity


def ort_rows(
    model_path: Path, probe: npt.NDArray[np.float32], batches: Sequence[int], seconds: float
) -> list[dict[str, object]]:
    """Throughput rows for onnxruntime's GPU providers present in this install (host arrays in and out)."""
    rows: list[dict[str, object]] = []
    for provider in ("TensorrtExecutionProvider", "CUDAExecutionProvider"):
        if provider not in ort.get_available_providers():
            continue
        session = ort.InferenceSession(str(model_path), providers=[provider, "CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        for batch in batches:
            x = np.resize(probe, (batch, *probe.shape[1:]))
            ms = time_gpu(partial(session.run, None, {name: x}), seconds, lambda: None)
            rows.append({"engine": f"onnxruntime {provider}", "precision": "fp32", "batch": batch, "ms": ms,
                         "images_per_s": batch * 1000.0 / ms})  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/gridwatch-yolo26n.onnx"))
    parser.add_argument("--images", type=Path, required=True, help="real photos for the fidelity check")
    parser.add_argument("--imgsz", type=int, default=512)
    parser.add_argument("--batches", default="1,8,32,64,128")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per setting")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)

    import torch

    batches = [int(b) for b in args.batches.split(",")]
    probe = real_batch(args.images, 8, args.imgsz)
    model = onnx.load(str(args.model))
    rows = ort_rows(args.model, probe, batches, args.seconds)
    torch_table, fidelity = torch_rows(model, probe, batches, args.seconds)
    report = {
        "model": str(args.model),
        "imgsz": args.imgsz,
        "gpu": torch.cuda.get_device_name(0),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "onnxruntime_providers": ort.get_available_providers(),
        "max_abs_diff_vs_onnxruntime_cpu": fidelity,
        "rows": rows + torch_table,
    }
    args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    for row in report["rows"]:
        print(f"{row['engine']:<40} {row['precision']:<5} batch {row['batch']:>4}: "
              f"{row['ms']:8.2f} ms  {row['images_per_s']:9.0f} img/s")  # fmt: skip
    print("max |diff| vs onnxruntime CPU:", fidelity)


if __name__ == "__main__":
    main()
