"""The onnxruntime engine: CPU, CUDA or TensorRT execution providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from domain.errors import ModelError
from vision.engines import Shape


def _shape(dims: Sequence[object]) -> Shape:
    # onnxruntime names dynamic axes ("batch", "height") or leaves them None
    return tuple(d if isinstance(d, int) else None for d in dims)


class OrtEngine:
    """An onnxruntime session over an ONNX file.

    Args:
        path: the ``.onnx`` file.
        providers: onnxruntime provider names, fastest first (see :func:`vision.providers.resolve_providers`).
        threads: intra-op CPU threads; 0 lets onnxruntime use one per physical core.

    Raises:
        ModelError: the file is not a loadable ONNX model.
    """

    runtime = "onnxruntime"

    def __init__(self, path: Path, providers: Sequence[str], threads: int = 0) -> None:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=list(providers))
        except (
            ort.capi.onnxruntime_pybind11_state.Fail,
            ort.capi.onnxruntime_pybind11_state.InvalidGraph,
            ort.capi.onnxruntime_pybind11_state.InvalidProtobuf,
        ) as exc:
            raise ModelError(f"{path}: not a loadable ONNX model: {exc}") from None
        inp, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self._input = inp.name
        self.devices: list[str] = list(self.session.get_providers())
        self.metadata: Mapping[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.input_shape, self.output_shape = _shape(inp.shape), _shape(out.shape)
        # FP16 exports made elsewhere (Ultralytics' half=True) take an FP16 input; ours keep FP32 I/O.
        self.input_dtype: type[np.floating] = np.float16 if inp.type == "tensor(float16)" else np.float32

    def run(self, blob: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """Head output (B, rows, columns) for a (B, 3, H, W) input; ``session.run`` is thread-safe."""
        return np.asarray(self.session.run(None, {self._input: blob})[0], dtype=np.float32)
