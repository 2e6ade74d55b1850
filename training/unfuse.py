"""``gridwatch unfuse``: a trainable Ultralytics checkpoint rebuilt from an exported (or fused) ONNX detector.

Checkpoints live outside the repository and do not survive a change of machine; the shipped ``.onnx`` does.
To continue training the shipped model rather than start again from COCO, its weights are read back from the
ONNX initializers, which the Ultralytics export names after the PyTorch modules (``model.4.cv1.conv.weight``).
For a model made by ``gridwatch fuse`` these are the primary network's; the secondary's are prefixed and ignored.

The export folds every BatchNorm into its convolution (``W' = W * gamma / sigma``, ``b' = beta - mu * gamma / sigma``),
so the original BN parameters are gone. Setting each BN to the identity plus ``b'`` would reproduce the network in
eval mode, but training normalises by batch statistics and would start from a different function. Instead each BN
gets the per-channel mean ``m`` and standard deviation ``s`` of its convolution's output on real images
(``running_mean = m``, ``running_var = s**2 - eps``, ``gamma = s``, ``beta = m + b'``): eval mode is unchanged, and
train mode starts close to the exported network as long as a batch looks like the calibration images.
"""

from __future__ import annotations

import ast
import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from domain.errors import ImageError
from vision.imageio import read_image
from vision.preprocess import make_batch


def _onnx_weights(path: Path) -> tuple[dict[int, str], dict[str, np.ndarray], int]:
    """Class names, ``model.*`` initializers and the export size of a dense-head Ultralytics ONNX model."""
    if not path.is_file():
        raise FileNotFoundError(f"model not found: {path}")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises several unrelated types for a file that is not a model
        raise ValueError(f"{path}: not a readable ONNX model: {exc}") from None
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        names = {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}
        imgsz = int(ast.literal_eval(meta.get("imgsz", "[640, 640]"))[0])
    except (KeyError, ValueError, SyntaxError, AttributeError):
        raise ValueError(f"{path}: no readable Ultralytics metadata (names, imgsz)") from None
    weights = {i.name: numpy_helper.to_array(i).copy() for i in model.graph.initializer if i.name.startswith("model.")}
    if not weights:
        raise ValueError(f"{path}: no initializers named after Ultralytics modules (model.N...)")
    return names, weights, imgsz


def _resized_conv(conv: Any, shape: tuple[int, ...]) -> Any:
    """A Conv2d like ``conv`` (kernel, stride, padding, dilation) with the exported weight's channel counts."""
    import torch

    out_ch, in_per_group = shape[0], shape[1]
    depthwise = conv.groups == conv.in_channels == conv.out_channels and conv.groups > 1
    groups, in_ch = (out_ch, out_ch) if depthwise else (1, in_per_group)
    return torch.nn.Conv2d(
        in_ch, out_ch, conv.kernel_size, conv.stride, conv.padding, conv.dilation, groups, conv.bias is not None
    )


def unfuse(
    onnx_path: Path, out: Path, *, base: Path, images: Sequence[Path], calibration_images: int = 96, batch: int = 8
) -> Path:
    """Write ``out``, an Ultralytics checkpoint with the network of ``onnx_path``, trainable again.

    Args:
        onnx_path: a dense-head ONNX detector exported by Ultralytics (or fused by ``gridwatch fuse``).
        out: the ``.pt`` checkpoint to write.
        base: an Ultralytics checkpoint of the same architecture (e.g. ``yolo26n.pt``): its YAML builds the network.
        images: real photos for the BatchNorm statistics (training photos; ``calibration_images`` evenly spaced ones).
        calibration_images: how many photos the statistics are taken over.
        batch: photos per forward pass.

    Raises:
        FileNotFoundError: a missing model or base.
        ValueError: a file that is not an Ultralytics ONNX model, an architecture that does not match ``base``,
            or no readable calibration photo.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the network
    import torch
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    names, weights, imgsz = _onnx_weights(onnx_path)
    if not base.is_file():
        raise FileNotFoundError(f"base checkpoint not found: {base}")
    holder = YOLO(str(base))
    model = DetectionModel(copy.deepcopy(holder.model.yaml), nc=len(names), verbose=False)
    model.names = names
    modules = dict(model.named_modules())
    bns: dict[str, tuple[Any, Any, torch.Tensor]] = {}
    for name, module in list(modules.items()):
        if not isinstance(module, torch.nn.Conv2d) or f"{name}.weight" not in weights:
            continue
        parent_name, _, attr = name.rpartition(".")
        parent = modules[parent_name]
        weight, bias = weights[f"{name}.weight"], weights.get(f"{name}.bias")
        if bias is None:
            raise ValueError(f"{onnx_path}: {name} has no bias; expected a BN-folded export")
        bn = getattr(parent, "bn", None) if attr == "conv" else None
        if tuple(weight.shape) != tuple(module.weight.shape):
            # a head built for another class count (its hidden width follows it): take the exported shape
            module = _resized_conv(module, weight.shape)
            setattr(parent, attr, module)
            if bn is not None:
                parent.bn = bn = torch.nn.BatchNorm2d(weight.shape[0], eps=bn.eps, momentum=bn.momentum)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(weight))
            if bn is None:
                module.bias.copy_(torch.from_numpy(bias))
            else:
                bns[name] = (module, bn, torch.from_numpy(bias).double())
                bn.weight.fill_(1.0)
                bn.bias.copy_(torch.from_numpy(bias))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
    head = model.model[-1]
    missing = [
        n
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Conv2d) and f"{n}.weight" not in weights and ".one2one_" not in n
    ]
    if missing or not bns:
        raise ValueError(
            f"{onnx_path} does not match the architecture of {base}: no exported weights for {missing[:5]}"
        )
    head.nc, head.no = len(names), len(names) + head.reg_max * 4
    model.nc = len(names)
    model.yaml["nc"] = len(names)
    # evenly spaced photos: a dataset's files are grouped by source, and the statistics should see every source
    spread = list(images)[:: max(1, len(images) // calibration_images)]
    _calibrate_bn(model, bns, spread, calibration_images, batch, imgsz, int(model.stride.max()))
    if hasattr(head, "one2one_cv2"):
        # the NMS-free head is not in a dense-head export: it starts as a copy of the dense one, as in Ultralytics
        head.one2one_cv2 = copy.deepcopy(head.cv2)
        head.one2one_cv3 = copy.deepcopy(head.cv3)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Saved in FP32, unlike Ultralytics' own checkpoints: in FP16 the large BN means would no longer cancel exactly
    # (eval output off by a few pixels and ~0.01 in score); training loads either.
    torch.save({**holder.ckpt, "ema": None, "model": model.float(), "date": None}, out)
    return out


def _calibrate_bn(
    model: Any,
    bns: dict[str, tuple[Any, Any, Any]],
    images: Sequence[Path],
    count: int,
    batch: int,
    imgsz: int,
    stride: int,
) -> None:
    """Give every folded BN the per-channel mean and std of its convolution's output on ``count`` photos."""
    import torch

    sums: dict[str, list[Any]] = {name: [0.0, 0.0, 0] for name in bns}

    def hook(name: str) -> Any:
        def record(_module: Any, _inputs: Any, output: Any) -> None:
            y = output.detach().double()  # (B, C, H, W)
            acc = sums[name]
            acc[0] = acc[0] + y.sum((0, 2, 3))
            acc[1] = acc[1] + (y * y).sum((0, 2, 3))
            acc[2] += y.numel() // y.shape[1]

        return record

    handles = [conv.register_forward_hook(hook(name)) for name, (conv, _, _) in bns.items()]
    model.eval().float()
    seen = 0
    pending: list[np.ndarray] = []
    try:
        with torch.no_grad():
            for path in images:
                if seen + len(pending) >= count:
                    break
                try:
                    pending.append(read_image(path, target=imgsz).pixels)
                except (OSError, ImageError):
                    continue  # an unreadable photo is skipped; the statistics need only enough readable ones
                if len(pending) == batch:
                    model(torch.from_numpy(make_batch(pending, imgsz, stride, rect=False).blob))
                    seen, pending = seen + len(pending), []
            if pending:
                model(torch.from_numpy(make_batch(pending, imgsz, stride, rect=False).blob))
                seen += len(pending)
    finally:
        for handle in handles:
            handle.remove()
    if seen == 0:
        raise ValueError("no readable calibration photo")
    with torch.no_grad():
        for name, (_, bn, bias) in bns.items():
            total, squares, n = sums[name]
            mean = total / n
            running_var = (squares / n - mean * mean - bn.eps).clamp_min(1e-6)
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(running_var.float())
            # gamma = sqrt(running_var + eps) exactly, so eval mode computes the folded network even for a
            # channel whose variance is below eps (where running_var had to be clamped)
            bn.weight.copy_((running_var.float() + bn.eps).sqrt())
            bn.bias.copy_((mean + bias).float())
