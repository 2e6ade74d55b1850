"""Export of Ultralytics ``.pt`` weights to the ONNX files the runtime detector loads."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def export_onnx(weights: Path, out: Path, *, imgsz: int = 640, half: bool = False, end2end: bool = False) -> Path:
    """Export ``weights`` to ``out`` as ONNX with dynamic batch and input size.

    Args:
        weights: an Ultralytics detection checkpoint (YOLO11, YOLO26, ...).
        out: where to write the ``.onnx`` file.
        imgsz: the size recorded as the model's default input, pixels.
        half: FP16 weights (for GPU inference; slower on CPU).
        end2end: export the NMS-free (B, 300, 6) head where the model has one (YOLO26); by default the
            dense head with NMS, which is what Ultralytics' own ``predict`` runs.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the network
    from ultralytics import YOLO

    if not weights.is_file():
        raise FileNotFoundError(f"weights not found: {weights}")
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
            half=half,
            nms=False if end2end else None,
            device="cpu" if not half else 0,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(exported), out)
    return out
