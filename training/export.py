"""Export of Ultralytics ``.pt`` weights to the ONNX files the runtime detector loads."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def to_half(model: Path, out: Path) -> Path:
    """Write an FP16 copy of the FP32 ONNX ``model`` to ``out``, for GPU inference.

    Weights and arithmetic become FP16; the input and output stay FP32 (casts inside the graph), so the
    detector feeds it like any other model; the metadata (labels, size, thresholds) is kept.

    Raises:
        ValueError: ``model`` is not an FP32 ONNX model.
    """
    import onnx
    from google.protobuf.message import DecodeError
    from onnxruntime.transformers.float16 import convert_float_to_float16

    try:
        proto = onnx.load(str(model))
    except (OSError, DecodeError) as exc:
        raise ValueError(f"{model}: not a readable ONNX model: {exc}") from None
    if proto.graph.input[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise ValueError(f"{model}: the input is not FP32; convert an FP32 model")
    half = convert_float_to_float16(proto, keep_io_types=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(half, str(out))
    return out


def export_onnx(weights: Path, out: Path, *, imgsz: int = 640, half: bool = False, end2end: bool = False) -> Path:
    """Export ``weights`` to ``out`` as ONNX with dynamic batch and input size.

    Args:
        weights: an Ultralytics detection checkpoint (YOLO11, YOLO26, ...); with ``half``, an FP32 ``.onnx``
            model is also accepted and converted as it is.
        out: where to write the ``.onnx`` file.
        imgsz: the size recorded as the model's default input, pixels.
        half: FP16 weights with FP32 input and output (for GPU inference; much slower on CPU). The export
            runs on the CPU, so no GPU is needed to make one.
        end2end: export the NMS-free (B, 300, 6) head where the model has one (YOLO26); by default the
            dense head with NMS, which is what Ultralytics' own ``predict`` runs.
    """
    if not weights.is_file():
        raise FileNotFoundError(f"weights not found: {weights}")
    if weights.suffix.lower() == ".onnx":
        if not half:
            raise ValueError(f"{weights} is already ONNX; pass --half to make an FP16 copy")
        return to_half(weights, out)
    os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the network
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        # ultralytics writes next to the weights; work on a copy so read-only sources are fine
        local = Path(tmp) / weights.name
        shutil.copy(weights, local)
        model = YOLO(str(local))
        exported = model.export(
            format="onnx",
            imgsz=imgsz,
            dynamic=True,
            simplify=True,
            nms=False if end2end else None,
            device="cpu",
        )
        if half:
            return to_half(Path(exported), out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(exported), out)
    return out
