"""Operating-threshold calibration and thresholds shipped in the ONNX metadata."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from domain.errors import ModelError
from service.core.config import DEFAULT_MODEL
from tests.conftest import SAMPLES
from training.calibrate import calibrate, markdown
from training.detections import SplitDetections
from vision.detector import Detector
from vision.metrics import ImageEval

NAMES = ("garbage", "poster", "car")


def _image(gt: list[int], det: list[tuple[int, float]], labelled: tuple[bool, bool, bool]) -> ImageEval:
    box = [0.0, 0.0, 10.0, 10.0]
    return ImageEval([box] * len(gt), gt, [box] * len(det), [s for _, s in det], [c for c, _ in det], labelled)


def _split(images: list[ImageEval]) -> SplitDetections:
    return SplitDetections(NAMES, np.array([True, True, True]), images, [Path(f"{i}.jpg") for i in range(len(images))])


GARBAGE_ONLY = (True, False, False)


def test_f1_best_threshold_under_the_false_alarm_cap() -> None:
    # 4 positives scoring 0.9, 0.8, 0.6, 0.3; 20 negatives, one scoring 0.7 and one 0.5.
    pos = [_image([0], [(0, s)], GARBAGE_ONLY) for s in (0.9, 0.8, 0.6, 0.3)]
    neg = [_image([], [(0, s)], GARBAGE_ONLY) for s in (0.7, 0.5)] + [_image([], [], GARBAGE_ONLY)] * 18
    rows = {r.label: r for r in calibrate(_split(pos + neg), max_false_alarm=0.05)}
    garbage = rows["garbage"]
    # At 0.51..0.60: recall 3/4, one false alarm in 20 (5 %) -> F1 0.75, the best the cap allows; the
    # highest threshold of that plateau is taken.
    assert garbage.threshold == pytest.approx(0.60)
    assert garbage.recall == pytest.approx(0.75) and garbage.false_alarm == pytest.approx(0.05)
    assert garbage.positives == 4 and garbage.negatives == 20 and garbage.basis == "f1 under false-alarm cap"
    # A tighter cap pushes it above the 0.7 negative: 0.71..0.80 give F1 2/3.
    strict = {r.label: r for r in calibrate(_split(pos + neg), max_false_alarm=0.0)}["garbage"]
    assert strict.threshold == pytest.approx(0.80) and strict.false_alarm == 0.0 and strict.recall == 0.5


def test_positives_only_keep_the_default() -> None:
    images = [_image([0], [(0, s)], GARBAGE_ONLY) for s in (0.9, 0.2, 0.15)]
    garbage = {r.label: r for r in calibrate(_split(images))}["garbage"]
    assert garbage.basis == "default" and garbage.threshold == pytest.approx(0.25)


def test_absent_assumed_label_is_capped_on_all_images() -> None:
    images = [_image([], [(1, s)], GARBAGE_ONLY) for s in np.linspace(0.05, 0.95, 20)]
    rows = {r.label: r for r in calibrate(_split(images), max_false_alarm=0.1, assume_absent=["poster"])}
    poster = rows["poster"]
    assert poster.basis == "absent-assumed" and poster.negatives == 20
    assert poster.false_alarm <= 0.1 and poster.threshold > 0.8
    # car: neither annotated nor assumed absent -> the default.
    assert rows["car"].basis == "default" and rows["car"].threshold == pytest.approx(0.25)
    assert "| poster | " in markdown(rows.values())


def test_cap_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="max_false_alarm"):
        calibrate(_split([]), max_false_alarm=1.5)


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    path = tmp_path / "model.onnx"
    shutil.copyfile(DEFAULT_MODEL, path)
    return path


@pytest.mark.train
def test_thresholds_round_trip_through_onnx_metadata(model_copy: Path) -> None:
    write = pytest.importorskip("training.calibrate").write_thresholds
    pytest.importorskip("onnx")
    write(model_copy, {"car": 0.6, "person": 0.35})
    plain = Detector(model_copy, providers="cpu", conf=0.25)
    assert plain.info.thresholds == {"car": 0.6, "person": 0.35}
    assert plain.info.names == Detector(DEFAULT_MODEL, providers="cpu").info.names  # other metadata kept
    shipped = Detector(model_copy, providers="cpu", conf=0.25, model_thresholds=True)
    overridden = Detector(model_copy, providers="cpu", conf=0.25, class_conf={"car": 0.3}, model_thresholds=True)
    car, person, bus = (plain.names.index(n) for n in ("car", "person", "bus"))
    assert plain.thresholds[car] == pytest.approx(0.25)
    assert shipped.thresholds[car] == pytest.approx(0.6) and shipped.thresholds[person] == pytest.approx(0.35)
    assert shipped.thresholds[bus] == pytest.approx(0.25) and overridden.thresholds[car] == pytest.approx(0.3)
    # Fewer boxes at the shipped thresholds on a real photo.
    from vision.imageio import read_image

    image = read_image(sorted(SAMPLES.glob("*.jpg"))[0])
    assert len(shipped.detect([image])[0]) <= len(plain.detect([image])[0])


@pytest.mark.train
@pytest.mark.parametrize(("value", "message"), [("{not json", "not JSON"), ('{"dragon": 0.5}', "model labels")])
def test_bad_threshold_metadata(model_copy: Path, value: str, message: str) -> None:
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(model_copy))
    proto.metadata_props.add(key="thresholds", value=value)
    onnx.save(proto, str(model_copy))
    with pytest.raises(ModelError, match=message):
        Detector(model_copy, providers="cpu")
