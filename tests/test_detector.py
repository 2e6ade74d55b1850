"""The ONNX detector on real photos: content, geometry, thresholds, batching and errors."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from domain.errors import ModelError
from service.core.config import COCO_MODEL
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import decode_image, read_image
from vision.providers import resolve_providers


def iou_matrix(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(len(a), len(b)) IoU of two sets of xyxy boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return np.asarray(inter / (area_a[:, None] + area_b[None, :] - inter), np.float32)


def assert_same_boxes(a: Detections, b: Detections, min_score: float = 0.4, min_iou: float = 0.9) -> None:
    """Every confident box of ``a`` has a same-label box in ``b`` with IoU >= min_iou, and vice versa."""
    for x, y in ((a, b), (b, a)):
        strong = x[x.score >= min_score]
        assert len(strong) > 0 or len(x) == 0
        ious = iou_matrix(strong.xyxy, y.xyxy) if len(y) else np.zeros((len(strong), 0), np.float32)
        for i in range(len(strong)):
            same = y.class_id == strong.class_id[i]
            best = ious[i][same].max(initial=0.0)
            assert best >= min_iou, f"{strong.labels[i]} {strong.xyxy[i]} unmatched (best IoU {best:.2f})"


# What a person sees in each bundled photo (checked by eye), as minimum counts per label.
EXPECTED = [
    ("spb_facade_street_cars.jpg", {"car": 2, "person": 2}),
    ("spb_facade_parked_cars.jpg", {"car": 3}),
    ("cyclists_street.jpg", {"bicycle": 2, "person": 3, "car": 2}),
    ("bin_point_night_cars.jpg", {"car": 2}),
    ("bin_point_street.jpg", {"car": 1}),
    ("car_park_overhead.jpg", {"car": 1}),
]


@pytest.mark.parametrize(("name", "minimum"), EXPECTED)
def test_finds_vehicles_and_people_in_real_photos(
    detector: Detector, samples: Path, name: str, minimum: dict[str, int]
) -> None:
    img = read_image(samples / name, target=detector.imgsz)
    det = detector.detect([img])[0]
    counts = Counter(det.labels)
    for label, n in minimum.items():
        assert counts[label] >= n, f"{name}: {dict(counts)}"
    assert np.all(det.xyxy[:, :2] < det.xyxy[:, 2:])
    assert (
        np.all(det.xyxy >= 0) and np.all(det.xyxy[:, [0, 2]] <= img.width) and np.all(det.xyxy[:, [1, 3]] <= img.height)
    )


def test_box_lands_on_the_car(detector: Detector, samples: Path) -> None:
    # the silver hatchback at the right of the street (hand-measured: about x 417-518, y 210-249)
    det = detector.detect([read_image(samples / "spb_facade_street_cars.jpg")])[0].filter(labels=["car"])
    assert iou_matrix(np.array([[417, 210, 518, 249]], np.float32), det.xyxy).max() > 0.8


def test_batch_equals_single_images(detector: Detector, samples: Path) -> None:
    imgs = [read_image(samples / name) for name, _ in EXPECTED[:4]]
    batched = detector.detect(imgs)
    for img, det in zip(imgs, batched, strict=True):
        assert_same_boxes(det, detector.detect([img])[0])


def test_large_photo_decoded_reduced_maps_back_to_full_pixels(detector: Detector, samples: Path) -> None:
    small = read_image(samples / "spb_facade_parked_cars.jpg")
    big = cv2.resize(small.pixels, None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC)
    ok, enc = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    decoded = decode_image(enc.tobytes(), target=detector.imgsz)
    assert decoded.pixels.shape[1] < big.shape[1]  # really decoded at reduced scale
    assert (decoded.width, decoded.height) == (big.shape[1], big.shape[0])
    det_big = detector.detect([decoded])[0]
    det_small = detector.detect([small])[0]
    scaled = Detections(det_big.xyxy / np.float32(6), det_big.score, det_big.class_id, det_big.names)
    assert_same_boxes(scaled, det_small, min_score=0.5, min_iou=0.85)


def test_exif_rotated_photo_gives_upright_boxes(detector: Detector, samples: Path) -> None:
    upright = read_image(samples / "spb_facade_street_cars.jpg")
    # store the pixels turned 90 degrees counter-clockwise, tagged "rotate 90 CW to display"
    stored = Image.fromarray(
        cv2.cvtColor(cv2.rotate(upright.pixels, cv2.ROTATE_90_COUNTERCLOCKWISE), cv2.COLOR_BGR2RGB)
    )
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif)
    rotated = decode_image(buf.getvalue())
    assert (rotated.width, rotated.height) == (upright.width, upright.height)
    assert_same_boxes(detector.detect([rotated])[0], detector.detect([upright])[0], min_score=0.5, min_iou=0.85)


def test_per_class_thresholds(samples: Path) -> None:
    img = read_image(samples / "spb_facade_street_cars.jpg")
    base = Detector(COCO_MODEL, providers="cpu").detect([img])[0]
    strict_cars = Detector(COCO_MODEL, providers="cpu", class_conf={"car": 0.99}).detect([img])[0]
    assert "car" in base.labels and "car" not in strict_cars.labels
    assert Counter(strict_cars.labels)["person"] == Counter(base.labels)["person"]
    lenient = Detector(COCO_MODEL, providers="cpu", conf=0.05).detect([img])[0]
    assert len(lenient) > len(base)
    assert base.score.min() >= 0.25 and lenient.score.min() >= 0.05


def test_model_metadata(detector: Detector) -> None:
    assert detector.names[:4] == ("person", "bicycle", "car", "motorcycle") and len(detector.names) == 80
    assert detector.imgsz == 640 and detector.info.stride == 32 and detector.info.dynamic
    assert len(detector.info.sha256) == 64
    assert detector.providers == ["CPUExecutionProvider"]


def test_accepts_bgr_arrays_and_rejects_other_layouts(detector: Detector, samples: Path) -> None:
    pixels = np.asarray(cv2.imread(str(samples / "cyclists_street.jpg")), np.uint8)
    assert "bicycle" in detector.detect([pixels])[0].labels
    with pytest.raises(ValueError, match="BGR uint8"):
        detector.detect([pixels.astype(np.float32)])
    with pytest.raises(ValueError, match="BGR uint8"):
        detector.detect([pixels[..., 0]])
    assert detector.detect([]) == []


def test_bad_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        Detector(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Detector(junk)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"class_conf": {"tank": 0.5}}, "unknown label"),
        ({"class_conf": {"car": 1.5}}, "must be in"),
        ({"conf": -0.1}, "conf must be"),
        ({"iou": 0.0}, "iou"),
        ({"imgsz": 650}, "multiple of the model stride"),
        ({"providers": "cuda"}, "not available"),
        ({"providers": "nonsense"}, "not available"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        Detector(COCO_MODEL, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ("auto", "CPUExecutionProvider"),
        ("cpu", "CPUExecutionProvider"),
        ("CPUExecutionProvider", "CPUExecutionProvider"),
    ],
)
def test_resolve_providers(request_: str, expected: str) -> None:
    assert resolve_providers(request_)[-1] == expected


def test_smaller_input_size_still_detects(samples: Path) -> None:
    det = Detector(COCO_MODEL, providers="cpu", imgsz=320).detect([read_image(samples / "spb_facade_parked_cars.jpg")])
    assert Counter(det[0].labels)["car"] >= 2
