"""EXIF capture time and GPS, from real EXIF written by Pillow into small images, and from broken EXIF."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from vision.exif import (
    DATETIME_DIGITIZED,
    DATETIME_ORIGINAL,
    EXIF_IFD,
    GPS_IFD,
    OFFSET_TIME_ORIGINAL,
    PhotoExif,
    parse_exif_datetime,
    parse_gps,
    read_exif,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Sydney Opera House: 33°51'26.6"S 151°12'54.8"E
SYDNEY_GPS: dict[int, object] = {1: "S", 2: (33.0, 51.0, 26.6), 3: "E", 4: (151.0, 12.0, 54.8)}
SYDNEY = (-(33 + 51 / 60 + 26.6 / 3600), 151 + 12 / 60 + 54.8 / 3600)


def encode(
    exif: dict[int, object] | None = None, gps: dict[int, object] | None = None, fmt: str = "JPEG", **ifd0: object
) -> bytes:
    """A small image of ``fmt`` carrying the given Exif sub-IFD, GPS IFD and IFD0 tags."""
    tags = Image.Exif()
    for tag, value in ifd0.items():
        tags[int(tag.removeprefix("t"))] = value
    if exif is not None:
        tags[EXIF_IFD] = exif
    if gps is not None:
        tags[GPS_IFD] = gps
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), (90, 120, 150)).save(buf, fmt, exif=tags)
    return buf.getvalue()


def test_capture_time_with_its_offset() -> None:
    data = encode({DATETIME_ORIGINAL: "2024:05:01 14:03:22", OFFSET_TIME_ORIGINAL: "-03:30"})
    got = read_exif(data, SHANGHAI)
    assert got.taken_at == datetime(2024, 5, 1, 14, 3, 22, tzinfo=timezone(-timedelta(hours=3, minutes=30)))
    assert got.taken_at.utcoffset() == -timedelta(hours=3, minutes=30)
    assert (got.lat, got.lon) == (None, None)


def test_naive_capture_time_is_in_the_site_time_zone() -> None:
    got = read_exif(encode({DATETIME_ORIGINAL: "2024:05:01 14:03:22"}), SHANGHAI)
    assert got.taken_at == datetime(2024, 5, 1, 14, 3, 22, tzinfo=SHANGHAI)
    assert got.taken_at is not None and got.taken_at.astimezone(UTC).hour == 6


def test_digitized_time_when_there_is_no_original() -> None:
    got = read_exif(encode({DATETIME_DIGITIZED: "2023:12:31 23:59:59"}), SHANGHAI)
    assert got.taken_at == datetime(2023, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)


def test_modification_time_is_not_a_capture_time() -> None:
    # IFD0 DateTime (0x0132) changes whenever an editor saves the file
    assert read_exif(encode(t306="2024:05:01 14:03:22"), SHANGHAI).taken_at is None


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_gps_position_south_and_east(fmt: str) -> None:
    data = encode({DATETIME_ORIGINAL: "2024:05:01 14:03:22"}, SYDNEY_GPS, fmt=fmt)
    got = read_exif(data, SHANGHAI)
    assert got.lat == pytest.approx(SYDNEY[0], abs=1e-7) and got.lon == pytest.approx(SYDNEY[1], abs=1e-7)
    assert got.taken_at == datetime(2024, 5, 1, 14, 3, 22, tzinfo=SHANGHAI)


def test_gps_rationals_as_written_by_cameras() -> None:
    # degrees/1, minutes/1, seconds/100 as phones write them; west is negative
    gps: dict[int, object] = {1: "N", 2: (IFDRational(31, 1), IFDRational(13, 1), IFDRational(4812, 100)), 3: "W"}
    gps[4] = (IFDRational(121, 1), IFDRational(2812, 100), IFDRational(0, 1))
    got = read_exif(encode(gps=gps), SHANGHAI)
    assert got.lat == pytest.approx(31 + 13 / 60 + 48.12 / 3600)
    assert got.lon == pytest.approx(-(121 + 28.12 / 60))


def test_raw_rational_pairs_and_decimal_degrees() -> None:
    assert parse_gps({1: "N", 2: ((3125, 100),), 3: "E", 4: ((12147, 100),)}) == pytest.approx((31.25, 121.47))
    assert parse_gps({1: b"N\x00", 2: 31.25, 3: "e", 4: 121.47}) == pytest.approx((31.25, 121.47))


@pytest.mark.parametrize(
    "gps",
    [
        {},
        {1: "N", 2: (31.0, 0.0, 0.0)},  # no longitude
        {2: (31.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # no latitude reference: the sign is unknown
        {1: "X", 2: (31.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},
        {1: "N", 2: (IFDRational(31, 0), 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # zero denominator
        {1: "N", 2: ((31, 0), (0, 1), (0, 1)), 3: "E", 4: (121.0, 0.0, 0.0)},
        {1: "N", 2: (91.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # beyond the pole
        {1: "N", 2: (31.0, 75.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # 75 minutes
        {1: "N", 2: (31.0, 0.0, 0.0), 3: "E", 4: (181.0, 0.0, 0.0)},
        {1: "N", 2: (31.0, 0.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # four parts
        {1: "N", 2: "31 deg", 3: "E", 4: (121.0, 0.0, 0.0)},
        {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)},  # no fix: cameras write 0, 0
        {1: "N", 2: (31.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0), 9: "V"},  # GPSStatus void
    ],
)
def test_bad_or_missing_gps_is_none(gps: dict[int, object]) -> None:
    assert parse_gps(gps) is None


def test_bad_gps_in_a_real_file_is_none() -> None:
    got = read_exif(encode(gps={1: "N", 2: (IFDRational(31, 0), 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)}), SHANGHAI)
    assert got == PhotoExif()


@pytest.mark.parametrize(
    "value",
    [None, "", "    :  :     :  :  ", "2024:13:01 10:00:00", "2024:02:30 10:00:00", "2024:05:01 24:00:00", "yesterday"],
)
def test_bad_capture_times_are_none(value: str | None) -> None:
    assert parse_exif_datetime(value, None, SHANGHAI) is None


def test_capture_time_tolerates_padding_bytes_and_bad_offsets() -> None:
    got = parse_exif_datetime(b"2024:05:01 14:03:22\x00", "+25:00", SHANGHAI)  # impossible offset: site zone
    assert got == datetime(2024, 5, 1, 14, 3, 22, tzinfo=SHANGHAI)


def test_header_only_a_truncated_photo_keeps_its_exif() -> None:
    data = encode({DATETIME_ORIGINAL: "2024:05:01 14:03:22"}, SYDNEY_GPS)
    sos = data.index(b"\xff\xda")  # start of scan: its header, then the compressed pixels
    got = read_exif(data[: sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")], SHANGHAI)
    assert got.taken_at is not None and got.lat is not None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff\xff\xff",  # IFD offset past the end
    ],
)
def test_unreadable_input_gives_no_fields(data: bytes) -> None:
    assert read_exif(data, SHANGHAI) == PhotoExif()


def test_garbage_exif_never_raises() -> None:
    """Random bytes in the EXIF segment of a real JPEG, and random corruption of a valid EXIF block."""
    rng = random.Random(4)
    valid = Image.Exif()
    valid[EXIF_IFD] = {DATETIME_ORIGINAL: "2024:05:01 14:03:22"}
    valid[GPS_IFD] = SYDNEY_GPS
    block = valid.tobytes()
    for i in range(300):
        if i % 2:
            exif = b"Exif\x00\x00" + rng.randbytes(rng.randrange(8, 400))
        else:
            corrupt = bytearray(block)
            for _ in range(rng.randrange(1, 12)):
                corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
            exif = b"Exif\x00\x00" + bytes(corrupt)
        buf = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif)
        got = read_exif(buf.getvalue(), SHANGHAI)
        assert isinstance(got, PhotoExif)
        assert got.taken_at is None or got.taken_at.tzinfo is not None
        assert (got.lat is None) == (got.lon is None)
