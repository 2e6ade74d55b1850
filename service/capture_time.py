"""When a photo was taken: its EXIF capture time when plausible, else its file's modification time, else now.

EXIF clocks are set by hand, never set, or forged: a year 1000 or 9999 would become a case's first or last
sighting, and the far ends of the calendar overflow when converted to UTC for the store. A time outside the
plausible range counts as no EXIF time at all, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Literal

TimeSource = Literal["exif", "mtime", "now"]

# Before consumer digital cameras: an EXIF date earlier than this is a clock that was never set, or a forgery.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# Camera clocks run a little fast and time zones differ; more than a day ahead of the server is a wrong clock.
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class CaptureTime:
    """A photo's time, where it came from, and why the EXIF time was passed over (None when it was not)."""

    at: datetime
    source: TimeSource
    note: str | None = None


def plausible(at: datetime, now: datetime) -> bool:
    """Whether ``at`` (aware) can be a real capture time, seen at ``now``; compares without converting to UTC,
    so the ends of the calendar do not overflow."""
    return at >= EARLIEST and at - now <= FUTURE_SLACK


def capture_time(exif_time: datetime | None, file: Path | None, tz: tzinfo, now: datetime) -> CaptureTime:
    """The EXIF time if plausible, else ``file``'s modification time (a file of this machine the operator named,
    never a client's label), else ``now``."""
    note = None
    if exif_time is not None:
        if plausible(exif_time, now):
            return CaptureTime(exif_time, "exif")
        note = f"implausible EXIF capture time {exif_time.isoformat()} ignored"
    if file is not None and file.is_file():
        mtime = datetime.fromtimestamp(file.stat().st_mtime, tz)
        if plausible(mtime, now):
            return CaptureTime(mtime, "mtime", note)
    return CaptureTime(now, "now", note)
