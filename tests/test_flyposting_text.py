"""The text-first flyposting finder: the judgement of a block of text, grouping lines, real photos with legal text
and phone numbers, a sheet pasted on a real wall, and ``detect`` and ``scan`` giving the same posters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from cli.main import main
from datasets.flyposting import find_cjk_fonts
from domain.taxonomy import Violation
from service.context import Context, open_context
from service.core.config import Settings
from service.core.site import Camera, Grid, SiteConfig, Unit, Zone, dump_site
from service.scan import PhotoScan, scan
from service.store.models import Case, CasePhone, Observation
from service.workers.cameras import CameraManager
from tests.conftest import SAMPLES
from tests.stream_fixtures import wait_for
from tests.test_dataset_build import DATA, needs_data
from vision.detector import Detector
from vision.imageio import read_image
from vision.ocr import Phone, PosterReader, find_phones
from vision.pipeline import PhotoDetector
from vision.rules.config import Persistence, RulesConfig, StaticRule
from vision.smallads import judge
from vision.stream.reader import ReaderSettings
from vision.textfinder import TextFinder, find_qr, group_lines
from vision.tiling import TileSettings
from vision.walltext import WallText
from vision.zones import PolygonZone

BINS = DATA / "garbage_bin_overflow_cn" / "train" / "images"
SORTING_LABELS = BINS / "002384_jpg.rf.9ae23c1080294f08c34e5ef3b533e898.jpg"  # bin labels, a slogan thrice
PRODUCT_SHOT = BINS / "002545_jpg.rf.3edaa3ba7b1a2b442f9f588e911391eb.jpg"  # a sales number overlaid on a product shot
WALL = SAMPLES / "brick_wall_shopfront.jpg"
AD_LINES = ("专业开锁 换锁", "疏通管道 上门服务", "电话 138 0013 8000")
AD_NUMBER = "13800138000"


def _phones(*lines: str) -> list[Phone]:
    return [p for line in lines for p in find_phones(line)]


@pytest.mark.parametrize(
    ("lines", "letter", "qr", "copies", "small_ad"),
    [
        (("专业开锁 换锁", "138 0013 8000"), 0.02, False, 1, True),  # a service and a mobile
        (("招租", "0571-8765 4321"), 0.02, False, 1, True),  # a service and a landline
        (("办证 刻章",), 0.02, True, 1, True),  # a service and a QR code
        (("家政保洁",), 0.02, False, 3, True),  # a service, pasted three times
        (("办证 刻章",), 0.02, False, 1, False),  # a service word alone: a distant agency's sign
        (("租房",), 0.03, False, 1, False),
        (("销售电话(微信)15378212399",), 0.02, False, 1, False),  # a number alone: a shop's, a product's
        (("张记面馆", "开锁 电话 13800138000"), 0.12, False, 1, False),  # large letters: a shop sign
        (("可回收物", "Recyclable 13800138000 回收"), 0.02, False, 1, False),  # a bin's sorting label
        (("禁止停车", "搬家 13800138000"), 0.02, False, 1, False),  # a traffic sign
        (("讲文明 树新风", "社区居委会 招聘"), 0.02, False, 3, False),  # a slogan
    ],
)
def test_judge(lines: tuple[str, ...], letter: float, qr: bool, copies: int, small_ad: bool) -> None:
    verdict = judge(lines, _phones(*lines), letter=letter, qr=qr, copies=copies)
    assert verdict.small_ad is small_ad, verdict


def test_group_lines_stacks_lines_of_one_sheet() -> None:
    boxes = np.array(
        [
            [100, 100, 200, 120],  # sheet, line 1
            [105, 125, 190, 145],  # sheet, line 2: just below
            [100, 400, 180, 420],  # far below: another sheet
            [300, 100, 500, 200],  # beside, letters five times taller: a sign
        ],
        np.float64,
    )
    assert sorted(sorted(g) for g in group_lines(boxes)) == [[0, 1], [2], [3]]


@pytest.fixture(scope="module")
def finder() -> TextFinder:
    return TextFinder(PosterReader(threads=1))


@pytest.fixture(scope="module")
def shipped() -> Detector:
    """The shipped GridWatch model (it has the ``poster`` label) at its operating thresholds."""
    return Detector(Settings().model, providers="cpu", model_thresholds=True)


@needs_data
def test_bin_sorting_labels_are_read_and_not_flagged(finder: TextFinder) -> None:
    blocks = finder.find(read_image(SORTING_LABELS))
    assert any(any(r.startswith("legal:") for r in b.verdict.reasons) for b in blocks)
    assert not [b.text for b in blocks if b.verdict.small_ad]


@needs_data
def test_a_number_alone_is_read_but_not_a_small_ad(finder: TextFinder) -> None:
    blocks = finder.find(read_image(PRODUCT_SHOT))
    assert "15378212399" in {p.number for b in blocks for p in b.phones}
    assert not [b.text for b in blocks if b.verdict.small_ad]


def paste_sheet(src: Path, dst: Path) -> tuple[int, int, int, int]:
    """A copy of the real photo ``src`` with a printed small ad (:data:`AD_LINES`) pasted on it; its box xyxy."""
    photo = Image.open(src).convert("RGB")
    font = ImageFont.truetype(str(find_cjk_fonts()[0]), 18)
    sheet = Image.new("RGB", (170, 100), (245, 245, 240))
    draw = ImageDraw.Draw(sheet)
    for i, line in enumerate(AD_LINES):
        draw.text((8, 8 + 30 * i), line, font=font, fill=(20, 20, 20))
    x, y = 40, 60
    photo.paste(sheet, (x, y))
    photo.save(dst, quality=95)
    return x, y, x + sheet.width, y + sheet.height


@pytest.fixture(scope="module")
def pasted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[int, int, int, int]]:
    path = tmp_path_factory.mktemp("pasted") / "wall_with_ad.jpg"
    return path, paste_sheet(WALL, path)


def _inside(box: npt.ArrayLike, outer: tuple[int, int, int, int], slack: float = 20) -> bool:
    x1, y1, x2, y2 = np.asarray(box, np.float64).tolist()
    return bool(x1 >= outer[0] - slack and y1 >= outer[1] - slack and x2 <= outer[2] + slack and y2 <= outer[3] + slack)


def test_a_pasted_sheet_becomes_a_poster_with_its_text(
    finder: TextFinder, shipped: Detector, pasted: tuple[Path, tuple[int, int, int, int]]
) -> None:
    path, sheet = pasted
    ads = [b for b in finder.find(read_image(path)) if b.verdict.small_ad]
    assert len(ads) == 1 and _inside(ads[0].xyxy, sheet)
    assert {p.number for p in ads[0].phones} == {AD_NUMBER}
    assert "开锁" in ads[0].text
    photos = PhotoDetector(shipped, tiles=TileSettings(mode="off"), finder=finder)
    [(det, _)] = photos.find([read_image(path)])
    posters = det.xyxy[np.array([n == "poster" for n in det.labels], dtype=bool)]
    assert sum(_inside(b, sheet) for b in posters) == 1  # the detector's box, if any, and the block's are one


@pytest.fixture
def scan_ctx(tmp_path: Path) -> Iterator[Context]:
    """A scan context on a fresh SQLite store, the shipped model, the default one-grid site."""
    with open_context(Settings(data_dir=tmp_path / "data", database_url=None, site=None)) as ctx:
        yield ctx


def test_detect_and_scan_find_the_same_poster(
    capsys: pytest.CaptureFixture[str], scan_ctx: Context, pasted: tuple[Path, tuple[int, int, int, int]]
) -> None:
    path, sheet = pasted
    assert main(["detect", str(path), "--format", "jsonl", "--providers", "cpu"]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    printed = [d["xyxy"] for d in record["detections"] if d["label"] == "poster"]
    [ad] = [b for b in record["texts"] if b["small_ad"]]
    assert "开锁" in ad["text"] and ad["phones"] == [AD_NUMBER]

    scans: list[PhotoScan] = []
    report = scan([path], scan_ctx, progress=lambda photo, done, total: scans.append(photo))
    assert report.failed == 0
    [photo] = scans
    posters = [s for s in photo.sightings if s.event.violation is Violation.FLYPOSTING]
    size = np.array([record["width"], record["height"]] * 2, np.float64)
    judged = sorted(np.round(np.asarray(s.event.bbox) * size, 0).tolist() for s in posters)
    assert judged == sorted(np.round(np.asarray(b, np.float64), 0).tolist() for b in printed)
    ours = [s for s in posters if _inside(np.asarray(s.event.bbox) * size, sheet)]
    assert len(ours) == 1 and ours[0].phones == (AD_NUMBER,) and "开锁" in ours[0].text
    with scan_ctx.store.session() as s:
        assert AD_NUMBER in set(s.scalars(select(CasePhone.number)))
        kept = s.scalars(select(Observation.text).where(Observation.case_id == ours[0].case_id)).one()
    assert kept == ours[0].text  # the case keeps the text as read, not only its number


def test_text_finder_off_leaves_posters_to_the_detector(
    detector: Detector, pasted: tuple[Path, tuple[int, int, int, int]]
) -> None:
    image = read_image(pasted[0])
    [(det, texts)] = PhotoDetector(detector, tiles=TileSettings(mode="off")).find([image])
    assert texts == ()
    assert np.array_equal(det.xyxy, detector.detect([image])[0].xyxy)


def test_qr_codes_are_found_on_a_real_photo() -> None:
    """A QR code stuck on a real wall is found where it is (OpenCV's detector)."""
    qr = cv2.QRCodeEncoder.create().encode("https://example.com/kaisuo")
    qr = cv2.resize(qr, (qr.shape[1] * 4, qr.shape[0] * 4), interpolation=cv2.INTER_NEAREST)
    photo = read_image(WALL).pixels.copy()
    y, x = 220, 200
    photo[y : y + qr.shape[0], x : x + qr.shape[1]] = np.asarray(cv2.cvtColor(qr, cv2.COLOR_GRAY2BGR), np.uint8)
    [box] = find_qr(photo).tolist()
    assert abs(box[0] - x) < 20 and abs(box[1] - y) < 20


def test_camera_walls_are_read_at_a_low_rate(
    finder: TextFinder, pasted: tuple[Path, tuple[int, int, int, int]]
) -> None:
    path, sheet = pasted
    frame = read_image(path).pixels
    wall = PolygonZone([(0, 0), (0.6, 0), (0.6, 0.6), (0, 0.6)], kind="wall", id="wall")  # holds the sheet
    elsewhere = PolygonZone([(0.6, 0.6), (1, 0.6), (1, 1), (0.6, 1)], kind="wall", id="far")
    walls = WallText(finder, every_s=300)
    [ad] = walls.ads("north-gate", frame, [wall], t=1000.0)
    assert _inside(ad.xyxy, sheet) and {p.number for p in ad.phones} == {AD_NUMBER}
    blank = np.full_like(frame, 128)  # the sheet gone: not seen until the next reading
    assert walls.ads("north-gate", blank, [wall], t=1200.0) == (ad,)
    assert walls.ads("north-gate", blank, [wall], t=1300.0) == ()
    assert walls.ads("south-gate", frame, [elsewhere], t=1000.0) == ()  # read, but the sheet is off its wall
    assert walls.ads("east-gate", frame, [], t=1000.0) == ()  # no wall zone: never read


def test_a_camera_case_keeps_the_text_and_number_read_on_its_wall(
    tmp_path: Path, finder: TextFinder, shipped: Detector, pasted: tuple[Path, tuple[int, int, int, int]]
) -> None:
    """A camera watching the wall with the pasted sheet: the flyposting case carries what was read on it."""
    frame = read_image(pasted[0]).pixels
    clip = tmp_path / "wall.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 5.0, (frame.shape[1], frame.shape[0]))
    for _ in range(15):
        writer.write(frame)
    writer.release()
    wall = Zone.model_validate({"id": "wall", "kind": "wall", "polygon": [(0, 0), (1, 0), (1, 1), (0, 1)]})
    cam = Camera(id="gate", name="Gate", source=str(clip), grid="g", sample_fps=2.0, zones=[wall])
    quick = Persistence(k=1, n=1, window_s=1.0, iou=0.4)  # one sighting is enough here: the reading is under test
    site = SiteConfig(
        units=[Unit(id="u", name="Unit")],
        grids=[Grid(id="g", name="Grid", unit="u")],
        cameras=[cam],
        rules=RulesConfig(flyposting=StaticRule(labels=("poster",), zone_kinds=("wall",), persistence=quick)),
    )
    site_file = tmp_path / "site.yaml"
    dump_site(site, site_file)
    with open_context(Settings(data_dir=tmp_path / "data", site=site_file), detector=shipped) as ctx:
        manager = CameraManager(
            ctx.site, shipped, ctx.manager, motion=None, reader=ReaderSettings(loop_files=True), walls=WallText(finder)
        )
        manager.start()
        try:

            def read() -> list[tuple[str | None, str]]:
                with ctx.store.session() as s:
                    query = select(Observation.text, Case.violation).join(Case, Case.id == Observation.case_id)
                    return [(text, violation) for text, violation in s.execute(query)]

            wait_for(lambda: any(v == "flyposting" and t for t, v in read()), 60, "a flyposting case with its text")
        finally:
            manager.stop()
        with ctx.store.session() as s:
            texts = [t for t, v in read() if v == "flyposting" and t]
            numbers = set(s.scalars(select(CasePhone.number)))
    assert any("开锁" in t for t in texts) and AD_NUMBER in numbers
