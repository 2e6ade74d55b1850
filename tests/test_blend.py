"""``gridwatch blend``: the weights of two exports of one network averaged, everything else kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from service.core.config import COCO_MODEL, DEFAULT_MODEL
from tests.conftest import HAS_TRAIN, SAMPLES
from vision.detector import Detector
from vision.imageio import read_image

pytestmark = [pytest.mark.train, pytest.mark.skipif(not HAS_TRAIN, reason="needs the [train] extra (onnx)")]

PHOTO = sorted(SAMPLES.glob("*.jpg"))[0]


def _weights(path: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The COCO model with every convolution's weights moved by a fixed pattern: a stand-in for a fine-tune of it
    (other float constants, such as resize scales, are the same in two exports of one network)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(COCO_MODEL))
    conv_params = {name for node in model.graph.node if node.op_type == "Conv" for name in node.input[1:]}
    rng = np.random.default_rng(0)
    for tensor in model.graph.initializer:
        value = numpy_helper.to_array(tensor)
        if tensor.name in conv_params:
            moved = value * (1 + 0.05 * rng.standard_normal(value.shape)).astype(value.dtype)
            tensor.CopyFrom(numpy_helper.from_array(moved.astype(value.dtype), tensor.name))
    out = tmp_path_factory.mktemp("blend") / "tuned.onnx"
    onnx.save(model, str(out))
    return out


def _blend(start: Path, tuned: Path, weight: float, out: Path) -> int:
    return main(["blend", str(start), str(tuned), "--weight", str(weight), "--out", str(out)])


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 1.0])
def test_each_weight_is_the_given_mix(tuned: Path, tmp_path: Path, weight: float) -> None:
    assert _blend(COCO_MODEL, tuned, weight, tmp_path / "b.onnx") == 0
    start, end, got = _weights(COCO_MODEL), _weights(tuned), _weights(tmp_path / "b.onnx")
    assert got.keys() == start.keys()
    for name, value in got.items():
        if np.issubdtype(value.dtype, np.floating):
            want = (1 - weight) * start[name].astype(np.float64) + weight * end[name].astype(np.float64)
            np.testing.assert_allclose(value, want, rtol=1e-6, atol=1e-7, err_msg=name)
        else:
            assert np.array_equal(value, start[name]), name


@pytest.mark.parametrize(("weight", "same_as"), [(0.0, "start"), (1.0, "tuned")])
def test_the_ends_detect_exactly_as_the_models_they_are(
    tuned: Path, tmp_path: Path, weight: float, same_as: str
) -> None:
    _blend(COCO_MODEL, tuned, weight, tmp_path / "b.onnx")
    image = read_image(PHOTO)
    got = Detector(tmp_path / "b.onnx", providers="cpu", conf=0.1).detect([image])[0]
    want = Detector(COCO_MODEL if same_as == "start" else tuned, providers="cpu", conf=0.1).detect([image])[0]
    assert len(got) > 0 and np.array_equal(got.xyxy, want.xyxy) and np.array_equal(got.score, want.score)


def test_a_model_blended_with_itself_is_unchanged_bit_for_bit(tmp_path: Path) -> None:
    assert _blend(COCO_MODEL, COCO_MODEL, 0.37, tmp_path / "b.onnx") == 0
    start, got = _weights(COCO_MODEL), _weights(tmp_path / "b.onnx")
    assert all(np.array_equal(got[name], value) for name, value in start.items())
    meta = Detector(tmp_path / "b.onnx", providers="cpu").engine.metadata
    assert meta["blend"] == f"0.63 x {COCO_MODEL.name} + 0.37 x {COCO_MODEL.name}"


@pytest.mark.parametrize(
    ("start", "tuned", "weight", "message"),
    [
        (DEFAULT_MODEL, COCO_MODEL, "0.5", "not exports of the same network"),  # fused 12 labels vs COCO 80
        (COCO_MODEL, Path("no/such.onnx"), "0.5", "model not found"),
        (COCO_MODEL, SAMPLES / PHOTO.name, "0.5", "not a readable ONNX model"),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start: Path, tuned: Path, weight: str, message: str
) -> None:
    out = tmp_path / "b.onnx"
    assert main(["blend", str(start), str(tuned), "--weight", weight, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("weight", ["1.5", "-0.1", "half"])
def test_a_weight_outside_zero_to_one_is_a_usage_error(tmp_path: Path, weight: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["blend", str(COCO_MODEL), str(COCO_MODEL), "--weight", weight, "--out", str(tmp_path / "b.onnx")])
    assert exited.value.code == 2 and not (tmp_path / "b.onnx").exists()
