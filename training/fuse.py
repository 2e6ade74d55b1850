"""``gridwatch fuse``: one ONNX detector whose labels come from two models that read the same input.

The fine-tuned violation model forgets what its small training set rarely shows (motorcycles, trucks, buses);
the COCO model it was trained from still knows them. The fused graph runs both on the same letterboxed input
and concatenates their candidate boxes, taking each label's scores from one model only, so the runtime sees a
single dense-head model (B, 4 + C, N_a + N_b) and its NMS never merges boxes across the two.

Nodes the two graphs compute identically (same operator, attributes, weights and inputs, e.g. a backbone stem
frozen during fine-tuning) are computed once. A frozen stem does not come back bit for bit, though: Ultralytics
stores checkpoints in FP16 and the export folds each BatchNorm into its convolution, so a layer that training never
changed differs from the base model's by those roundings. Such primary weights (same name and shape as a secondary
weight, and equal to it within ``SNAP_TOLERANCE``) take the secondary's values first, so that the stem is shared;
the fused model is evaluated as written, so what was measured is what ships.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

# A tensor's identity for sharing: the name of an equivalent primary tensor, or the digest of a constant.
Key = tuple[str, str]

# Largest |primary - secondary| still read as the same weight, as a fraction of the tensor's largest magnitude:
# an FP16 significand holds 11 bits (relative rounding 2**-11), and BatchNorm folding compounds a few roundings.
# Measured on the December GPU fine-tune: its frozen stem within 9e-4, its trained layers 5e-2 and more apart.
SNAP_TOLERANCE = 2.0**-9


def load_model(path: Path) -> onnx.ModelProto:
    """The ONNX model at ``path``; FileNotFoundError if missing, ValueError if it is no ONNX model."""
    if not path.is_file():
        raise FileNotFoundError(f"model not found: {path}")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf raises several unrelated types for a file that is not a model
        raise ValueError(f"{path}: not a readable ONNX model: {exc}") from None


def _names(model: onnx.ModelProto, path: Path) -> tuple[str, ...]:
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("end2end", "").lower() == "true":
        raise ValueError(f"{path}: an NMS-free (end2end) head cannot be fused; export the dense head")
    try:
        names = ast.literal_eval(meta["names"])
    except (KeyError, ValueError, SyntaxError):
        raise ValueError(f"{path}: no readable class names in the metadata") from None
    return tuple(str(names[i]) for i in sorted(names))


def _constant_key(tensor: onnx.TensorProto) -> Key:
    array = numpy_helper.to_array(tensor)
    digest = hashlib.sha256(array.tobytes()).hexdigest()
    return ("const", f"{array.dtype}{array.shape}{digest}")


def _snap(primary: onnx.GraphProto, secondary: onnx.GraphProto) -> int:
    """Give each primary float weight that equals a same-named secondary weight up to ``SNAP_TOLERANCE`` the
    secondary's exact values; return how many changed."""
    s_arrays = {t.name: numpy_helper.to_array(t) for t in secondary.initializer}
    snapped = 0
    for tensor in primary.initializer:
        theirs = s_arrays.get(tensor.name)
        if theirs is None or theirs.dtype.kind != "f":
            continue
        ours = numpy_helper.to_array(tensor)
        if ours.shape != theirs.shape or ours.dtype != theirs.dtype or np.array_equal(ours, theirs):
            continue
        if float(np.abs(ours - theirs).max()) <= SNAP_TOLERANCE * float(np.abs(theirs).max()):
            tensor.CopyFrom(numpy_helper.from_array(theirs, tensor.name))
            snapped += 1
    return snapped


def _node_key(node: onnx.NodeProto, inputs: Sequence[Key]) -> tuple[object, ...]:
    attrs = tuple(sorted((a.name, a.SerializeToString()) for a in node.attribute))
    return (node.op_type, node.domain, tuple(inputs), attrs, len(node.output))


def _share(primary: onnx.GraphProto, secondary: onnx.GraphProto) -> dict[str, str]:
    """Map each secondary tensor computed exactly as a primary tensor to that primary tensor.

    Nodes are matched in topological order (ONNX stores them so): a secondary node is shared when a primary
    node has the same operator and attributes, and each of its inputs is the same constant or an already
    shared tensor.
    """
    p_const = {t.name: _constant_key(t) for t in primary.initializer}
    s_const = {t.name: _constant_key(t) for t in secondary.initializer}
    p_nodes: dict[tuple[object, ...], onnx.NodeProto] = {}
    for node in primary.node:
        p_nodes.setdefault(_node_key(node, [p_const.get(name, ("tensor", name)) for name in node.input]), node)
    shared = {secondary.input[0].name: primary.input[0].name}
    for node in secondary.node:
        keys: list[Key] = []
        for name in node.input:
            if not name:  # an omitted optional input
                keys.append(("tensor", ""))
            elif name in s_const:
                keys.append(s_const[name])
            elif name in shared:
                keys.append(("tensor", shared[name]))
            else:
                break
        else:
            twin = p_nodes.get(_node_key(node, keys))
            if twin is not None:
                shared.update(zip(node.output, twin.output, strict=True))
    return shared


def _free_level(graph: onnx.GraphProto) -> int:
    """The first n such that no name in ``graph`` starts with ``fuse{n}/`` or ``secondary{n}/``.

    A fused model can itself be fused again; each round names its nodes apart from the earlier rounds'.
    """
    names = {n for node in graph.node for n in (node.name, *node.output)} | {t.name for t in graph.initializer}
    level = 0
    while any(name.startswith((f"fuse{level}/", f"secondary{level}/")) for name in names):
        level += 1
    return level


def _reduce_max_rows(x: str, out: str, opset: int, inits: list[onnx.TensorProto]) -> onnx.NodeProto:
    """ReduceMax over axis 1 keeping it: an attribute before opset 18, an input tensor (added to ``inits``) since."""
    if opset < 18:
        return helper.make_node("ReduceMax", [x], [out], name=out, axes=[1], keepdims=1)
    inits.append(numpy_helper.from_array(np.array([1], np.int64), out + "_axes"))
    return helper.make_node("ReduceMax", [x, out + "_axes"], [out], name=out, keepdims=1)


def fuse(
    primary_path: Path,
    secondary_path: Path,
    take: Sequence[str],
    out: Path,
    *,
    evidence: Mapping[str, Mapping[str, float]] | None = None,
) -> Path:
    """Write the fused model: ``take`` labels scored by the secondary model, the rest by the primary.

    Args:
        primary_path: dense-head ONNX detector whose labels, metadata and thresholds the fused model keeps.
        secondary_path: dense-head ONNX detector with the same input (size, normalisation, letterbox) that
            also predicts every label in ``take`` (matched by name).
        take: labels of the primary model to score with the secondary model instead.
        out: the fused ``.onnx`` file.
        evidence: primary label -> {secondary class: weight in (0, 1]}: the secondary's boxes also propose
            the primary label, scored ``max(weight * class score)`` over the listed classes, beside the
            primary's own boxes of it (NMS merges the two). For what the secondary knows under other names,
            e.g. COCO's couch, bed and chair as evidence of dumped bulky waste (``debris``).

    Raises:
        ValueError: a label in ``take`` missing from either model, an evidence label missing from the primary,
            in ``take`` or mapped to a class the secondary lacks, a weight outside (0, 1], an NMS-free head,
            different opsets or input shapes, or an unreadable model.
        FileNotFoundError: a model file is missing.
    """
    p_model, s_model = load_model(primary_path), load_model(secondary_path)
    p_names, s_names = _names(p_model, primary_path), _names(s_model, secondary_path)
    missing = [label for label in take if label not in p_names or label not in s_names]
    if missing or not take:
        raise ValueError(f"labels to take must be in both models: {missing or 'none given'}")
    evidence = {label: dict(classes) for label, classes in (evidence or {}).items()}
    for label, classes in evidence.items():
        if label not in p_names or label in take:
            raise ValueError(f"evidence label {label!r} must be a label of the primary model not in --take")
        unknown = sorted(set(classes) - set(s_names))
        if unknown or not classes:
            raise ValueError(f"evidence for {label!r}: classes {unknown or 'none given'} not in the secondary model")
        bad = {c: w for c, w in classes.items() if not 0.0 < w <= 1.0}
        if bad:
            raise ValueError(f"evidence for {label!r}: weights must lie in (0, 1], got {bad}")
    if {(o.domain, o.version) for o in p_model.opset_import} != {(o.domain, o.version) for o in s_model.opset_import}:
        raise ValueError("the two models use different ONNX opsets; export both with the same Ultralytics")
    if p_model.graph.input[0].type != s_model.graph.input[0].type:
        raise ValueError("the two models take different inputs")
    p_graph, s_graph = p_model.graph, s_model.graph
    level = _free_level(p_graph)
    tag, prefix = f"fuse{level}/", f"secondary{level}/"
    fused_out = "output0"
    p_out = p_graph.output[0].name
    if p_out == fused_out:  # the fused output takes that name
        p_out = tag + "primary_raw"
        for node in p_graph.node:
            node.output[:] = [p_out if o == fused_out else o for o in node.output]
    snapped = _snap(p_graph, s_graph)
    shared = _share(p_graph, s_graph)

    def rename(name: str) -> str:
        return shared.get(name) or (prefix + name if name else name)

    s_nodes = []
    for node in s_graph.node:
        if all(o in shared for o in node.output):
            continue
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = prefix + node.name
        copy.input[:] = [rename(n) for n in node.input]
        copy.output[:] = [rename(n) for n in node.output]
        s_nodes.append(copy)
    used = {n for node in s_nodes for n in node.input}
    s_inits = []
    for init in s_graph.initializer:
        if prefix + init.name in used:
            copy = onnx.TensorProto()
            copy.CopyFrom(init)
            copy.name = prefix + init.name
            s_inits.append(copy)

    # Rows 0-3 are boxes, 4 + i the score of label i. Label rows come from one model each: the primary's
    # taken rows are zeroed, and the secondary's rows are gathered into the primary's order and masked.
    from_secondary = np.array([n in take for n in p_names], dtype=np.float32)
    p_mask = np.concatenate([np.ones(4, np.float32), 1.0 - from_secondary]).reshape(1, -1, 1)
    s_rows = np.array([0, 1, 2, 3] + [4 + (s_names.index(n) if n in take else 0) for n in p_names], np.int64)
    s_mask = np.concatenate([np.ones(4, np.float32), from_secondary]).reshape(1, -1, 1)
    s_out = rename(s_graph.output[0].name)
    tail_inits = [
        numpy_helper.from_array(p_mask, tag + "primary_mask"),
        numpy_helper.from_array(s_rows, tag + "secondary_rows"),
        numpy_helper.from_array(s_mask, tag + "secondary_mask"),
    ]
    tail = [
        helper.make_node("Mul", [p_out, tag + "primary_mask"], [tag + "primary"], name=tag + "primary"),
        helper.make_node("Gather", [s_out, tag + "secondary_rows"], [tag + "gathered"], name=tag + "gather", axis=1),
        helper.make_node(
            "Mul", [tag + "gathered", tag + "secondary_mask"], [tag + "secondary_taken"], name=tag + "secondary"
        ),
    ]
    secondary = tag + "secondary_taken"
    opset = next(o.version for o in p_model.opset_import if o.domain in ("", "ai.onnx"))
    for k, (label, classes) in enumerate(evidence.items()):
        # Row 4 + i of the secondary block = max over the listed classes of weight * score; the other rows
        # of the block stay as taken (the label's own row there is zero, since it is not taken).
        e = f"{tag}evidence{k}_"
        rows = np.array([4 + s_names.index(c) for c in classes], np.int64)
        weights = np.array(list(classes.values()), np.float32).reshape(1, -1, 1)
        onehot = np.zeros((1, 4 + len(p_names), 1), np.float32)
        onehot[0, 4 + p_names.index(label), 0] = 1.0
        tail_inits += [
            numpy_helper.from_array(rows, e + "rows"),
            numpy_helper.from_array(weights, e + "weights"),
            numpy_helper.from_array(onehot, e + "onehot"),
        ]
        tail += [
            helper.make_node("Gather", [s_out, e + "rows"], [e + "scores"], name=e + "gather", axis=1),
            helper.make_node("Mul", [e + "scores", e + "weights"], [e + "weighted"], name=e + "weigh"),
            _reduce_max_rows(e + "weighted", e + "max", opset, tail_inits),
            helper.make_node("Mul", [e + "max", e + "onehot"], [e + "row"], name=e + "place"),
            helper.make_node("Add", [secondary, e + "row"], [e + "out"], name=e + "add"),
        ]
        secondary = e + "out"
    tail.append(
        helper.make_node("Concat", [tag + "primary", secondary], [fused_out], name=tag + "concat", axis=2),
    )
    output = helper.make_tensor_value_info(fused_out, onnx.TensorProto.FLOAT, ["batch", 4 + len(p_names), "anchors"])
    graph = helper.make_graph(
        [*p_graph.node, *s_nodes, *tail],
        "gridwatch-fused",
        [p_graph.input[0]],
        [output],
        initializer=[*p_graph.initializer, *s_inits, *tail_inits],
    )
    model = helper.make_model(graph, opset_imports=p_model.opset_import, producer_name="gridwatch fuse")
    model.ir_version = p_model.ir_version
    meta = {p.key: p.value for p in p_model.metadata_props}
    meta["fused"] = json.dumps(
        {
            "secondary": secondary_path.name,
            "secondary_sha256": hashlib.sha256(secondary_path.read_bytes()).hexdigest(),
            "labels_from_secondary": [n for n in p_names if n in take],
            "evidence_from_secondary": evidence,
            "shared_nodes": sum(1 for node in s_graph.node if all(o in shared for o in node.output)),
            "snapped_weights": snapped,
        }
    )
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return out
