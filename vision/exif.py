"""When and where a photo was taken, from its EXIF: capture time and GPS position.

Only the header is parsed (Pillow reads EXIF when it opens a file, before any pixel is decoded). EXIF is written by
every kind of camera, phone and editing tool, often wrongly, so nothing here raises: a field that is missing or
cannot be read comes back as None.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from PIL import Image

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
DATETIME_DIGITIZED, OFFSET_TIME_DIGITIZED = 0x9004, 0x9012
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4
GPS_STATUS = 9

_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


@dataclass(frozen=True)
class PhotoExif:
    """What the EXIF says about a photo; None where it says nothing usable.

    Attributes:
        taken_at: timezone-aware capture time.
        lat, lon: WGS84 decimal degrees (south and west negative); both or neither.
    """

    taken_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None


def _text(value: object) -> str | None:
    """An ASCII EXIF value as text; cameras pad with NULs and spaces, some tools write bytes."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ") or None


def _offset(value: object) -> tzinfo | None:
    """An OffsetTime* value (``+08:00``) as a fixed time zone."""
    text = _text(value)
    match = _OFFSET.fullmatch(text) if text else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14) or int(minutes) >= 60:
        return None
    return timezone(-delta if sign == "-" else delta)


def parse_exif_datetime(value: object, offset: object, default_tz: tzinfo) -> datetime | None:
    """A DateTime* value (``2024:05:01 14:03:22``) with its OffsetTime*; naive times are in ``default_tz``.

    Blank (``    :  :     :  :  ``) and impossible dates give None.
    """
    text = _text(value)
    match = _DATETIME.match(text) if text else None
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:  # month 13, day 0 ...
        return None
    tz = _offset(offset) or default_tz
    return naive.replace(tzinfo=tz)


def _rational(value: object) -> float | None:
    """A finite, non-negative EXIF rational (Pillow's IFDRational, or a raw (num, den) pair) as a float."""
    try:
        pair = isinstance(value, tuple) and len(value) == 2
        number = float(value[0]) / float(value[1]) if pair else float(value)  # type: ignore[index,arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _degrees(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    """Degrees, minutes, seconds (or fewer parts) and an N/S or E/W reference as signed decimal degrees."""
    hemisphere = _text(ref)
    if hemisphere is None or hemisphere.upper() not in (positive, negative):
        return None  # without its reference the sign is unknown
    parts = list(value) if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) else [value]
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_rational(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    dms = [n for n in numbers if n is not None]
    if any(n >= 60 for n in dms[1:]):
        return None
    decimal = sum(n / 60.0**i for i, n in enumerate(dms))
    if decimal > limit:
        return None
    return -decimal if hemisphere.upper() == negative else decimal


def parse_gps(gps: Mapping[int, object]) -> tuple[float, float] | None:
    """(lat, lon) from a GPSInfo IFD, or None when it is missing, void or malformed.

    ``GPSStatus`` ``V`` (measurement void) and exactly (0, 0) (what many cameras write without a fix) are no
    position.
    """
    if _text(gps.get(GPS_STATUS)) == "V":
        return None
    lat = _degrees(gps.get(GPS_LATITUDE), gps.get(GPS_LATITUDE_REF), "N", "S", 90.0)
    lon = _degrees(gps.get(GPS_LONGITUDE), gps.get(GPS_LONGITUDE_REF), "E", "W", 180.0)
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        return None
    return lat, lon


def read_exif(data: bytes, default_tz: tzinfo) -> PhotoExif:
    """Capture time and GPS position from an encoded image's EXIF; naive capture times are in ``default_tz``.

    Tries DateTimeOriginal, then DateTimeDigitized, each with its own OffsetTime*. Never raises.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about each corrupt tag; bad EXIF is simply no EXIF here
            with Image.open(io.BytesIO(data)) as image:
                # the base method reads only the header (PngImageFile.getexif would decode pixels; see imageio)
                exif = Image.Image.getexif(image)
                sub = dict(exif.get_ifd(EXIF_IFD))
                gps = dict(exif.get_ifd(GPS_IFD))
    except Exception:  # Pillow's TIFF parser raises many types on hostile EXIF, and EXIF is optional data
        return PhotoExif()
    taken_at = parse_exif_datetime(sub.get(DATETIME_ORIGINAL), sub.get(OFFSET_TIME_ORIGINAL), default_tz)
    if taken_at is None:
        taken_at = parse_exif_datetime(sub.get(DATETIME_DIGITIZED), sub.get(OFFSET_TIME_DIGITIZED), default_tz)
    position = parse_gps(gps)
    lat, lon = position if position else (None, None)
    return PhotoExif(taken_at, lat, lon)
