"""The ONNX detector: letterbox, batched inference (onnxruntime or OpenVINO, :mod:`vision.engines`), head decoding,
mapping back to photo pixels."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from domain.errors import ModelError
from vision.detections import Detections
from vision.engines import Engine, Mode, file_sha256
from vision.engines.factory import open_engine
from vision.imageio import DecodedImage
from vision.postprocess import RawBoxes, decode_dense, decode_end2end
from vision.preprocess import Batch, make_batch
from vision.providers import choose_backend

THRESHOLDS_KEY = "thresholds"
"""ONNX metadata key of a shipped model's operating thresholds: JSON object label -> minimum score."""


@dataclass(frozen=True)
class ModelInfo:
    """What the detector reads from an ONNX file.

    Attributes:
        names: class names indexed by class id.
        imgsz: square input size the model was exported at, pixels.
        stride: largest feature stride; dynamic inputs must be multiples of it.
        end2end: True for (B, K, 6) NMS-free heads, False for (B, 4 + C, N) dense heads.
        dynamic: True if height and width are free, so inputs can be letterboxed to the image's aspect.
        batch: fixed batch size, or None if the batch axis is free.
        sha256: hex digest of the file, identifying the exact model version.
        thresholds: operating minimum score per label chosen when the model was shipped (may be empty).
    """

    names: tuple[str, ...]
    imgsz: int
    stride: int
    end2end: bool
    dynamic: bool
    batch: int | None
    sha256: str
    thresholds: Mapping[str, float]


def _read_thresholds(meta: Mapping[str, str], names: Sequence[str], path: Path) -> dict[str, float]:
    raw = meta.get(THRESHOLDS_KEY)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: metadata {THRESHOLDS_KEY!r} is not JSON: {exc}") from None
    if not isinstance(value, dict) or not all(
        k in names and isinstance(v, int | float) and 0.0 <= v <= 1.0 for k, v in value.items()
    ):
        raise ModelError(f"{path}: metadata {THRESHOLDS_KEY!r} must map model labels to scores in [0, 1]")
    return {str(k): float(v) for k, v in value.items()}


def _read_info(engine: Engine, path: Path, sha256: str) -> ModelInfo:
    meta = engine.metadata
    in_shape, out_shape = engine.input_shape, engine.output_shape
    if len(in_shape) != 4 or len(out_shape) != 3:
        raise ModelError(f"{path}: expected an image input (B, 3, H, W) and a detection output (B, ., .)")
    try:
        names_map = ast.literal_eval(meta["names"]) if "names" in meta else None
    except (ValueError, SyntaxError) as exc:
        raise ModelError(f"{path}: unreadable class names in metadata: {exc}") from None
    if isinstance(names_map, dict):
        names = tuple(str(names_map[i]) for i in sorted(names_map))
    elif isinstance(out_shape[1], int) and out_shape[1] > 4 and out_shape[2] != 6:
        names = tuple(f"class{i}" for i in range(out_shape[1] - 4))
    else:
        raise ModelError(f"{path}: no class names in the model metadata")
    end2end = meta.get("end2end", "").lower() == "true" or (out_shape[2] == 6 and out_shape[1] != len(names) + 4)
    if not end2end and isinstance(out_shape[1], int) and out_shape[1] != len(names) + 4:
        raise ModelError(f"{path}: output has {out_shape[1]} rows, expected 4 + {len(names)} classes")
    h, w = in_shape[2], in_shape[3]
    if "imgsz" in meta:
        imgsz = int(max(ast.literal_eval(meta["imgsz"])))
    elif isinstance(h, int) and isinstance(w, int):
        imgsz = max(h, w)
    else:
        raise ModelError(f"{path}: input size unknown (no imgsz metadata, dynamic input)")
    return ModelInfo(
        names=names,
        imgsz=imgsz,
        stride=int(meta.get("stride", 32)),
        end2end=end2end,
        dynamic=not (isinstance(h, int) and isinstance(w, int)),
        batch=in_shape[0] if isinstance(in_shape[0], int) else None,
        sha256=sha256,
        thresholds=_read_thresholds(meta, names, path),
    )


class Detector:
    """Object detector over an ONNX YOLO model.

    Args:
        model: path to an Ultralytics-exported ONNX file (dense or end-to-end head).
        providers: ``"auto"`` (onnxruntime on TensorRT or CUDA where installed, else OpenVINO on CPUs where it is
            faster, else onnxruntime's CPU provider: :mod:`vision.providers`), ``"openvino"``, a short
            onnxruntime name such as ``"cpu"`` or ``"cuda"``, or a list of onnxruntime provider names.
        conf: default minimum score, 0..1.
        class_conf: per-label minimum scores overriding ``conf``.
        model_thresholds: start from the per-label operating thresholds the model ships with (metadata
            ``thresholds``), ``conf`` for the rest; ``class_conf`` still overrides. Off for evaluation,
            which needs low-scoring boxes too.
        iou: IoU above which NMS suppresses a lower-scoring box of the same class (dense heads).
        max_det: most boxes kept per image.
        imgsz: letterbox size in pixels; defaults to the size the model was exported at.
        threads: intra-op CPU threads; 0 lets the runtime use one per physical core.
        precision: ``"auto"`` (FP32: BF16 missed the accuracy gate, :mod:`vision.providers`), ``"fp32"`` or
            ``"bf16"`` (OpenVINO, where the CPU has it natively).
        mode: ``"latency"`` (one image as soon as possible: cameras) or ``"throughput"`` (a batch's images in
            parallel on OpenVINO streams: photo batches).
        tuning_cache: JSON file that keeps ``auto``'s measured choice of CPU runtime between starts (None: kept
            for this process only); :mod:`vision.engines.tuning`.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        providers: str | Sequence[str] = "auto",
        conf: float = 0.25,
        class_conf: Mapping[str, float] | None = None,
        iou: float = 0.7,
        max_det: int = 300,
        imgsz: int | None = None,
        threads: int = 0,
        model_thresholds: bool = False,
        precision: str = "auto",
        mode: Mode = "latency",
        tuning_cache: Path | None = None,
    ) -> None:
        path = Path(model)
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        if not 0.0 <= conf <= 1.0 or not 0.0 < iou <= 1.0:
            raise ModelError(f"conf must be in [0, 1] and iou in (0, 1], got conf={conf} iou={iou}")
        sha256 = file_sha256(path)  # once: it names the model in reports and keys the runtime choice
        self.engine = open_engine(path, choose_backend(providers, precision), threads, mode, tuning_cache, sha256)
        self.path = path
        self.info = _read_info(self.engine, path, sha256)
        self.imgsz = imgsz or self.info.imgsz
        if self.imgsz % self.info.stride:
            raise ModelError(f"imgsz {self.imgsz} must be a multiple of the model stride {self.info.stride}")
        if not self.info.dynamic and self.imgsz != self.info.imgsz:
            raise ModelError(f"this model has a fixed {self.info.imgsz} px input; imgsz {self.imgsz} is not possible")
        self.iou = iou
        self.max_det = max_det
        self.thresholds = np.full(len(self.info.names), conf, np.float32)
        shipped = self.info.thresholds if model_thresholds else {}
        for label, value in {**shipped, **(class_conf or {})}.items():
            if label not in self.info.names:
                raise ModelError(f"class_conf names unknown label {label!r}; model labels: {list(self.info.names)}")
            if not 0.0 <= value <= 1.0:
                raise ModelError(f"class_conf[{label!r}] must be in [0, 1], got {value}")
            self.thresholds[self.info.names.index(label)] = value

    @property
    def names(self) -> tuple[str, ...]:
        return self.info.names

    @property
    def providers(self) -> list[str]:
        """What actually runs the model, fastest first: onnxruntime providers, or ``CPU:<precision>`` on OpenVINO."""
        return list(self.engine.devices)

    @property
    def runtime(self) -> str:
        """``"onnxruntime"`` or ``"openvino"``."""
        return self.engine.runtime

    def prepare(self, images: Sequence[npt.NDArray[np.uint8]]) -> Batch:
        """Letterbox BGR images (h, w, 3) into the network input."""
        return make_batch(images, self.imgsz, self.info.stride, rect=self.info.dynamic)

    def infer(self, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Run the network on a (B, 3, H, W) input; returns the raw head output."""
        blob = blob.astype(self.engine.input_dtype, copy=False)
        if self.info.batch is not None and len(blob) != self.info.batch:
            return np.concatenate([self.engine.run(blob[i : i + 1]) for i in range(len(blob))])
        return self.engine.run(blob)

    def decode(
        self, output: npt.NDArray[np.float32], batch: Batch, sizes: Sequence[tuple[int, int, float, float]]
    ) -> list[Detections]:
        """Turn raw output into detections in photo pixels.

        ``sizes`` holds per image (photo width, photo height, sx, sy) where sx, sy are photo pixels
        per pixel of the array that was letterboxed.
        """
        results = []
        for i, (width, height, sx, sy) in enumerate(sizes):
            raw: RawBoxes = (
                decode_end2end(output[i], self.thresholds, self.max_det)
                if self.info.end2end
                else decode_dense(output[i], self.thresholds, self.iou, self.max_det)
            )
            xyxy = (raw.xyxy - np.tile(batch.offset[i], 2)) / batch.gain[i] * np.array([sx, sy, sx, sy], np.float32)
            np.clip(xyxy, 0, np.array([width, height, width, height], np.float32), out=xyxy)
            results.append(Detections(xyxy, raw.score, raw.class_id, self.info.names))
        return results

    def detect(self, images: Sequence[DecodedImage | npt.NDArray[np.uint8]]) -> list[Detections]:
        """Detect objects in a batch of images (decoded photos or BGR uint8 arrays (h, w, 3))."""
        if not images:
            return []
        arrays, sizes = [], []
        for img in images:
            if isinstance(img, DecodedImage):
                arrays.append(img.pixels)
                sizes.append((img.width, img.height, *img.scale))
            else:
                if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
                    raise ValueError(f"expected a BGR uint8 array (h, w, 3), got {img.dtype} {img.shape}")
                arrays.append(img)
                sizes.append((img.shape[1], img.shape[0], 1.0, 1.0))
        batch = self.prepare(arrays)
        return self.decode(self.infer(batch.blob), batch, sizes)
