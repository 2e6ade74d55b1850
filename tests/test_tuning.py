"""``--providers auto`` on a CPU: the faster of onnxruntime and OpenVINO FP32, measured on the model, kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from domain.errors import ModelError
from service.core.config import COCO_MODEL, DEFAULT_MODEL
from tests.conftest import SAMPLES
from vision.detector import Detector
from vision.engines import Engine, file_sha256, tuning
from vision.engines.ort_engine import OrtEngine
from vision.engines.ov_engine import OpenVinoEngine
from vision.engines.tuning import Trial, fastest_cpu_engine, pick, tuning_key
from vision.imageio import read_image

CPU = ("CPUExecutionProvider",)
COCO_SHA = file_sha256(COCO_MODEL)


@pytest.fixture(autouse=True)
def fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with nothing measured in this process."""
    monkeypatch.setattr(tuning, "_memo", {})


def _ort(path: Path = COCO_MODEL) -> Callable[[], Engine]:
    return lambda: OrtEngine(path, CPU)


def _ov(path: Path = COCO_MODEL) -> Callable[[], Engine]:
    return lambda: OpenVinoEngine(path, "fp32")


def _fastest(cache: Path | None, open_ov: Callable[[], Engine] | None = None) -> tuple[Engine, Trial | None]:
    return fastest_cpu_engine(
        COCO_MODEL,
        _ort(),
        open_ov or _ov(),
        model_sha256=COCO_SHA,
        threads=0,
        mode="latency",
        openvino_version="v",
        cache=cache,
    )


@pytest.mark.parametrize(
    ("ort_ms", "ov_ms", "runtime"),
    [
        (10.0, 8.9, "openvino"),  # clearly faster
        (10.0, 9.0, "onnxruntime"),  # within the 10 % margin: noise, the reference runtime stays
        (10.0, 12.0, "onnxruntime"),
        (30.0, 13.5, "openvino"),
    ],
)
def test_openvino_is_kept_only_when_clearly_faster(ort_ms: float, ov_ms: float, runtime: str) -> None:
    assert pick(ort_ms, ov_ms) == runtime


def test_the_faster_runtime_runs_and_the_choice_is_kept(tmp_path: Path) -> None:
    cache = tmp_path / "runtime-choice.json"
    engine, trial = _fastest(cache)
    assert trial is not None and engine.runtime == trial.runtime
    assert trial.onnxruntime_ms > 0 and trial.openvino_ms > 0 and trial.batch == 1
    assert trial.runtime == pick(trial.onnxruntime_ms, trial.openvino_ms)
    saved = json.loads(cache.read_text(encoding="utf-8"))
    assert list(saved.values()) == [
        {
            "runtime": trial.runtime,
            "onnxruntime_ms": trial.onnxruntime_ms,
            "openvino_ms": trial.openvino_ms,
            "batch": 1,
            "cpu": trial.cpu,
            "measured_at": trial.measured_at,
        }
    ]


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_a_kept_choice_is_reused_without_measuring(tmp_path: Path, runtime: str) -> None:
    cache = tmp_path / "runtime-choice.json"
    key = tuning_key(COCO_SHA, 0, "latency", "v")
    entry = {"runtime": runtime, "onnxruntime_ms": 1.0, "openvino_ms": 2.0, "batch": 1, "cpu": "x", "measured_at": "t"}
    cache.write_text(json.dumps({key: entry}), encoding="utf-8")

    def refused() -> Engine:
        raise AssertionError("OpenVINO opened although onnxruntime was chosen before")

    engine, trial = _fastest(cache, refused if runtime == "onnxruntime" else None)
    assert engine.runtime == runtime and trial is not None and trial.measured_at == "t"  # the old trial, not a new


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"k": {"runtime": "tpu"}}', ""])
def test_an_unreadable_cache_is_measured_again_and_rewritten(tmp_path: Path, content: str) -> None:
    cache = tmp_path / "runtime-choice.json"
    cache.write_text(content, encoding="utf-8")
    _, trial = _fastest(cache)
    assert trial is not None
    assert tuning_key(COCO_SHA, 0, "latency", "v") in json.loads(cache.read_text(encoding="utf-8"))


def test_a_model_openvino_cannot_run_stays_on_onnxruntime(tmp_path: Path) -> None:
    def cannot() -> Engine:
        raise ModelError("an INT8 (QDQ) model, which OpenVINO runs wrongly")

    engine, trial = _fastest(tmp_path / "c.json", cannot)
    assert engine.runtime == "onnxruntime" and trial is None and not (tmp_path / "c.json").exists()


def test_the_choice_depends_on_the_model_threads_and_mode() -> None:
    keys = {
        tuning_key(COCO_SHA, 0, "latency", "v"),
        tuning_key(file_sha256(DEFAULT_MODEL), 0, "latency", "v"),
        tuning_key(COCO_SHA, 1, "latency", "v"),
        tuning_key(COCO_SHA, 0, "throughput", "v"),
        tuning_key(COCO_SHA, 0, "latency", "w"),
    }
    assert len(keys) == 5


def test_an_auto_detector_finds_what_the_reference_runtime_finds(tmp_path: Path) -> None:
    """Whichever runtime the measurement picks, a real photo gives the reference (onnxruntime) boxes."""
    image = read_image(sorted(SAMPLES.glob("*.jpg"))[0])
    auto = Detector(DEFAULT_MODEL, tuning_cache=tmp_path / "c.json", model_thresholds=True)
    ref = Detector(DEFAULT_MODEL, providers="cpu", model_thresholds=True)
    got, want = auto.detect([image])[0], ref.detect([image])[0]
    assert len(want) > 0 and len(got) == len(want)
    order_got, order_want = np.argsort(-got.score), np.argsort(-want.score)
    np.testing.assert_allclose(got.xyxy[order_got], want.xyxy[order_want], atol=1.0)  # pixels
    np.testing.assert_allclose(got.score[order_got], want.score[order_want], atol=0.01)
    assert (tmp_path / "c.json").is_file()
