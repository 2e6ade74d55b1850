"""The OpenVINO engine: the same ``.onnx`` file compiled for the CPU by OpenVINO's runtime.

Precision is OpenVINO's ``INFERENCE_PRECISION_HINT``: ``f32``, or ``bf16`` where the CPU computes it natively (AVX-512
BF16, AMX). An INT8 (QDQ) model from ``gridwatch quantize`` is flagged ``quantized``: OpenVINO's boxes from it
were measured wrong by up to 300 px (models/gridwatch-yolo26n.md, "Runtimes"), so such models run on onnxruntime
only.
Two performance modes: ``latency`` runs one request on every thread (a camera frame as soon as possible);
``throughput`` splits the CPU into OpenVINO streams and runs the images of a batch on them in parallel (photo
batches). Each calling thread has its own infer request, so one engine serves many threads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import openvino as ov

from domain.errors import ModelError
from vision.engines import Mode, Shape

_HINT = {"fp32": "f32", "bf16": "bf16"}


def _shape(port: ov.Output) -> Shape:
    return tuple(d.get_length() if d.is_static else None for d in port.get_partial_shape())


class OpenVinoEngine:
    """An ONNX file compiled by OpenVINO for the CPU.

    Args:
        path: the ``.onnx`` file.
        precision: ``"fp32"`` or ``"bf16"`` (the latter only where :func:`vision.providers.native_precisions` has it).
        threads: CPU threads in all; 0 lets OpenVINO use one per physical core.
        mode: ``"latency"`` or ``"throughput"`` (see the module docstring).

    Raises:
        ModelError: the file cannot be read or compiled.
    """

    runtime = "openvino"

    def __init__(
        self, path: Path, precision: Literal["fp32", "bf16"], threads: int = 0, mode: Mode = "latency"
    ) -> None:
        core = ov.Core()
        config: dict[str, object] = {
            "INFERENCE_PRECISION_HINT": _HINT[precision],
            "PERFORMANCE_HINT": mode.upper(),
            "INFERENCE_NUM_THREADS": threads,
        }
        try:
            model = core.read_model(str(path))
            self.compiled = core.compile_model(model, "CPU", config)
        except RuntimeError as exc:
            raise ModelError(f"{path}: not a loadable ONNX model: {exc}") from None
        # the ONNX frontend turns QuantizeLinear/DequantizeLinear pairs into FakeQuantize
        self.quantized = any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
        self.streams = int(self.compiled.get_property("NUM_STREAMS"))
        self.precision = precision
        framework = model.get_rt_info()["framework"] if model.has_rt_info(["framework"]) else {}
        self.metadata: Mapping[str, str] = {str(k): v.astype(str) for k, v in framework.items()}
        self.input_shape, self.output_shape = _shape(model.inputs[0]), _shape(model.outputs[0])
        self.input_dtype: type[np.floating] = model.inputs[0].get_element_type().to_dtype().type
        self.devices = [f"CPU:{precision}"]
        self._local = threading.local()

    def _request(self) -> ov.InferRequest:
        request: ov.InferRequest | None = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        return request

    def _queue(self) -> ov.AsyncInferQueue:
        queue: ov.AsyncInferQueue | None = getattr(self._local, "queue", None)
        if queue is None:
            queue = self._local.queue = ov.AsyncInferQueue(self.compiled, self.streams)
        return queue

    def run(self, blob: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """Head output (B, rows, columns) for a (B, 3, H, W) input; with several streams, a batch's images run
        as parallel requests, one per stream."""
        if self.streams > 1 and len(blob) > 1:
            queue = self._queue()
            outs: list[npt.NDArray[np.float32]] = [np.empty(0, np.float32)] * len(blob)

            def done(request: ov.InferRequest, index: int) -> None:
                outs[index] = request.get_output_tensor(0).data.copy()

            queue.set_callback(done)
            for i in range(len(blob)):
                queue.start_async({0: blob[i : i + 1]}, i)
            queue.wait_all()
            return np.concatenate(outs).astype(np.float32, copy=False)
        request = self._request()
        request.infer({0: blob})
        return np.array(request.get_output_tensor(0).data, dtype=np.float32)
