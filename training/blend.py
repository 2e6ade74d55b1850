"""Weight-space blending of two exports of one network: a fine-tune pulled back towards where it started.

Fine-tuning a detector on more data can gain on the photos it trains on and lose on others; averaging the weights
of the start and the fine-tune (WiSE-FT: Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022)
often keeps most of the gain and the start's robustness. The blend is done on the exported ONNX files, where each
BatchNorm is folded into its convolution, so it interpolates the very weights the engine runs, and needs neither
torch nor a checkpoint: ``weight`` 0 gives the start, 1 the fine-tune, and the value is chosen on val.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from training.fuse import load_model


def _structure(model: onnx.ModelProto) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return [(node.op_type, tuple(node.input), tuple(node.output)) for node in model.graph.node]


def blend(start: Path, tuned: Path, weight: float, out: Path) -> Path:
    """Write ``out``: ``tuned`` with every float weight set to ``(1 - weight) * start + weight * tuned``.

    Args:
        start: the export the fine-tune began from (e.g. ``gridwatch unfuse`` of the shipped model, exported again).
        tuned: the export of the fine-tune; its graph, labels and metadata are kept.
        weight: share of the fine-tune, in [0, 1].
        out: the ONNX file to write.

    Raises:
        FileNotFoundError: a missing model.
        ValueError: a weight outside [0, 1], a file that is no ONNX model, or two graphs that are not the same
            network (other nodes, other labels, other weight names or shapes).
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    a, b = load_model(start), load_model(tuned)
    if _structure(a) != _structure(b):
        raise ValueError(f"{start} and {tuned} are not exports of the same network (their graphs differ)")
    names_a = {p.key: p.value for p in a.metadata_props}.get("names")
    names_b = {p.key: p.value for p in b.metadata_props}.get("names")
    if names_a != names_b:
        raise ValueError(f"{start} and {tuned} have different labels: {names_a} against {names_b}")
    starts = {t.name: numpy_helper.to_array(t) for t in a.graph.initializer}
    blended: list[onnx.TensorProto] = []
    for tensor in b.graph.initializer:
        value = numpy_helper.to_array(tensor)
        other = starts.get(tensor.name)
        if other is None or other.shape != value.shape or other.dtype != value.dtype:
            raise ValueError(f"{start} and {tuned} differ in weight {tensor.name!r}")
        if np.issubdtype(value.dtype, np.floating):
            # in float64, then back: the blend of two equal weights is that weight, bit for bit
            mixed = (1.0 - weight) * other.astype(np.float64) + weight * value.astype(np.float64)
            value = mixed.astype(value.dtype)
        elif not np.array_equal(value, other):  # shapes, axes and indices must agree: they are not weights
            raise ValueError(f"{start} and {tuned} differ in constant {tensor.name!r}")
        blended.append(numpy_helper.from_array(value, tensor.name))
    del b.graph.initializer[:]
    b.graph.initializer.extend(blended)
    meta = {p.key: p.value for p in b.metadata_props}
    meta["blend"] = f"{1.0 - weight:g} x {start.name} + {weight:g} x {tuned.name}"
    onnx.helper.set_model_props(b, meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(b, str(out))
    return out
