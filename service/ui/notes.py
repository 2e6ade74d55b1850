# ruff: noqa: RUF001 - Chinese text is written with full-width punctuation
"""Machine-written notes and camera states in the reader's language.

The case log keeps notes the system writes in English (``confirm``, ``relabel as motor_parking``, ``place clear
since 2026-03-02T01:00:00+00:00``, ``grid_id: g-east -> g-west``), and the camera reader reports its state and
last error in English (``stream ended or read timed out``). The stored text stays as it is (logs and the API are
read by maintainers); the Chinese UI shows it through the patterns here, with times in the site's zone and site
rows by name. A note a person typed matches no pattern and is shown as written.

The stream patterns are also sent to the camera pages' script (``camera.js``), which rewrites the status line
every two seconds: they are written in the regular-expression syntax Python and JavaScript share, with ``$1``
for the first group.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.taxonomy import Violation
from service.ui import i18n
from service.ui.i18n import Lang
from service.ui.queries import SiteNames

Local = Callable[[datetime | None], str]

STREAM_STATES: dict[str, tuple[str, str]] = {
    "connecting": ("连接中", "connecting"),
    "online": ("在线", "online"),
    "offline": ("离线", "offline"),
}
# (pattern of the reader's or camera worker's error, Chinese with $1 for the first group)
STREAM_ERRORS: tuple[tuple[str, str], ...] = (
    (r"^stream ended or read timed out$", "视频流中断或读取超时"),
    (r"^end of file$", "视频文件已播放完"),
    (r"^no frame for more than (\S+) s$", "超过 $1 秒没有画面"),
    (r"^no usable frame for (\S+) s$", "$1 秒内没有可用画面"),
    (r"^cannot open (.*)$", "无法打开视频源 $1"),
    (r"^no such file: (.*)$", "文件不存在：$1"),
    (r"^reader failed: (.*)$", "读取失败：$1"),
    (r"^detection failed: (.*)$", "识别失败：$1"),
    (r"^events not recorded: (.*)$", "事件未能记录：$1"),
    (r"^case not recorded: (.*)$", "案件未能记录：$1"),
    (r"^clear not recorded: (.*)$", "整改状态未能记录：$1"),
)
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "fps": ("帧/秒", "fps"),
    "last_frame": ("最近画面", "last frame"),
}


def _sub(pattern: str, template: str, text: str) -> str | None:
    match = re.fullmatch(pattern, text)
    return None if match is None else template.replace("$1", match.group(1) if match.groups() else "")


def stream_error(lang: Lang, error: str) -> str:
    """A camera's last error in ``lang``; an error no pattern knows is shown as reported."""
    if lang == "zh":
        for pattern, template in STREAM_ERRORS:
            if (said := _sub(pattern, template, error)) is not None:
                return said
    return error


def camera_words(lang: Lang, tz: str) -> dict[str, Any]:
    """What ``camera.js`` needs to write a status line in ``lang``: state names, words, error patterns, and the
    language and IANA zone (the site's) its times are written in."""
    pick = 0 if lang == "zh" else 1
    return {
        "lang": "zh-CN" if lang == "zh" else "en",
        "tz": tz,
        "states": {k: v[pick] for k, v in STREAM_STATES.items()},
        "words": {k: v[pick] for k, v in STATUS_WORDS.items()},
        "errors": [list(p) for p in STREAM_ERRORS] if lang == "zh" else [],
    }


def _when(text: str, local: Local) -> str:
    """An ISO time in a note as the site's wall-clock time; text that is no ISO time stays as it is."""
    try:
        return local(datetime.fromisoformat(text))
    except ValueError:
        return text


_FIELDS = {"grid_id": "网格", "unit_id": "责任单位", "place_id": "点位", "lat": "纬度", "lon": "经度"}
_REQUESTS = {"extend": "延期申请", "defer": "缓办申请"}
_SOURCES = {"hotline": "热线", "inspector": "巡查上报", "detector": "智能识别"}


def _verdict(note: str) -> str | None:
    match = re.fullmatch(r"(confirm|reject|relabel)(?: as (\w+))?", note)
    if match is None:
        return None
    said = i18n.t("zh", f"verdict.{match.group(1)}")
    target = match.group(2)
    return f"{said}为 {i18n.violation_name('zh', target)}" if target in set(Violation) else said


def _rework(note: str, local: Local) -> str | None:
    parts = []
    for part in note.split("; "):
        match = re.fullmatch(r"seen again at (\S+) after (the place was clear|it was reported handled)", part)
        if match is None:
            return None
        after = "摄像头显示已整改后" if match.group(2) == "the place was clear" else "报告已处置后"
        parts.append(f"{after}，{_when(match.group(1), local)} 再次发现")
    return "；".join(parts)


def _relocation(note: str, names: SiteNames) -> str | None:
    parts = []
    for part in note.split("; "):
        match = re.fullmatch(r"(grid_id|unit_id|place_id|lat|lon): (.*) -> (.*)", part)
        if match is None:
            return None
        field, old, new = match.groups()
        name: Callable[[str | None], str] = {
            "grid_id": names.grid,
            "unit_id": names.unit,
            "place_id": names.place,
        }.get(field, lambda v: v or "-")
        old_name, new_name = (name(None if v == "None" else v) for v in (old, new))  # None: no grid, unit, place
        parts.append(f"{_FIELDS[field]}：{old_name} → {new_name}")
    return "；".join(parts)


def _request(note: str, local: Local) -> str | None:
    """A request's log line: approved, refused, or asked (a reason, ``until`` the wanted deadline)."""
    if match := re.fullmatch(r"(extend|defer) request (\d+) approved: (.*?)(?: \((.*)\))?", note, re.S):
        kind, number, reason, remark = match.groups()
        return f"{_REQUESTS[kind]} #{number} 已批准：{reason}" + (f"（{remark}）" if remark else "")
    if match := re.fullmatch(r"(extend|defer) request (\d+): (.*)", note, re.S):
        kind, number, remark = match.groups()
        return f"{_REQUESTS[kind]} #{number} 已驳回：{remark}"
    if match := re.fullmatch(r"(.*) until (\S+)", note, re.S):
        return f"{match.group(1)}（申请期限至 {_when(match.group(2), local)}）"
    return None


def note_text(lang: Lang, action: str, note: str | None, *, names: SiteNames, local: Local) -> str:
    """A case-log note as the reader should see it (empty for none)."""
    if not note:
        return ""
    if lang != "zh":
        return note
    said: str | None = None
    if action == "verdict":
        said = _verdict(note)
    elif action == "propose_rectified" and note.startswith("place clear since "):
        said = f"自 {_when(note.removeprefix('place clear since '), local)} 起画面中已无该问题"
    elif action == "flag_rework":
        said = _rework(note, local)
    elif action == "relocate":
        said = _relocation(note, names)
    elif action == "open" and (match := re.fullmatch(r"recurrence of case (\d+)", note)):
        said = f"反复出现，前案 #{match.group(1)}"
    elif action == "open" and (match := re.fullmatch(r"(hotline|inspector): (.*)", note, re.S)):
        said = f"{_SOURCES[match.group(1)]}：{match.group(2)}"
    elif action in ("extend", "defer", "request_extend", "request_defer", "refuse_request"):
        said = _request(note, local)
    return said if said is not None else note
