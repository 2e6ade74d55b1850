# ruff: noqa: RUF001 - Chinese text is written with full-width punctuation
"""Export tables in the reader's language: Chinese headers, state and label names, site names and local times.

The tables of :mod:`service.integrations.exports` are written in the API's terms (column keys, raw codes, UTC).
A request whose language (:func:`service.ui.i18n.choose_lang`) is Chinese gets the same rows as an officer reads
them: ``状态`` ``已派遣`` instead of ``state`` ``dispatched``, ``南院`` instead of ``hepingli-south``, and times in the
site's time zone (naive, as Excel wants them). English requests get the table unchanged, so scripts that read the
column keys keep working. The app hands :func:`localise` to the export routes through ``app.state.export_words``
(the API package does not import the UI's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, tzinfo

from fastapi import Request
from sqlalchemy.orm import Session

from domain.taxonomy import EVENT_CODES, Violation, label
from service.integrations.exports import Cell, Table
from service.ui import i18n
from service.ui.i18n import LANG_COOKIE, Lang
from service.ui.queries import SiteNames, site_names

# column key: Chinese header. Times say 时间 and are local; "_utc" keys lose the suffix.
HEADERS: dict[str, str] = {
    "id": "案件编号",
    "case": "案件编号",
    "state": "状态",
    "violation": "案件类型",
    "event_code": "事件编码",
    "event_name": "事件名称",
    "label": "识别标签",
    "confidence": "置信度",
    "grid_id": "网格",
    "unit_id": "责任单位",
    "camera_id": "摄像头",
    "place_id": "点位",
    "lat": "纬度",
    "lon": "经度",
    "first_seen_utc": "首次发现时间",
    "last_seen_utc": "最近发现时间",
    "observations": "发现次数",
    "created_at_utc": "生成时间",
    "dispatched_at_utc": "派遣时间",
    "deadline_at_utc": "处置期限",
    "closed_at_utc": "结案时间",
    "as_of_utc": "统计时间",
    "overdue": "是否超期",
    "rework_count": "返工次数",
    "extension_count": "延期次数",
    "previous_case_id": "前案编号",
    "phones": "电话号码",
    "source": "来源",
    "due": "期限状态",
    "hours_left": "剩余小时",
    "supervision_count": "督办次数",
    "reporter": "报告人",
    "description": "描述",
    "group": "分组",
    "week": "周次",
    "rank": "名次",
    "grid": "网格",
    "unit": "责任单位",
    "list": "红黑榜",
    "deferred": "缓办数",
    "assessed": "考核数",
    "closed": "结案数",
    "closed_on_time": "按期结案数",
    "reworked": "返工数",
    "extended": "延期数",
    "recurrent": "反复出现",
    "closure_rate": "结案率",
    "on_time_rate": "按期结案率",
    "rework_rate": "返工率",
    "extension_rate": "延期率",
    "recurrence_rate": "复发率",
    "mean_hours_to_dispatch": "平均派遣用时（小时）",
    "mean_hours_to_close": "平均结案用时（小时）",
    "overdue_hours": "超期小时",
    "reviewed": "已审核",
    "confirmed": "确认",
    "rejected": "不予立案",
    "relabelled": "改类",
    "missed": "漏报",
    "precision": "准确率",
    "recall": "召回率",
}
# "due" is a count in the KPI tables and a deadline state in the case table.
_KPI_DUE = "应结案数"

SHEETS: dict[str, str] = {
    "cases": "案件",
    "kpis": "考核指标",
    "ranking-grid": "网格排名",
    "ranking-unit": "单位排名",
    "exposure": "周曝光",
    "quality": "识别质量",
}

SOURCES: dict[str, str] = {"detector": "智能识别", "hotline": "热线", "inspector": "巡查上报"}
HONOURS: dict[str, str] = {"red": "红榜", "black": "黑榜"}

Word = Callable[[Cell], Cell]


def _text(pick: Callable[[str], str]) -> Word:
    """A word for a string cell; empty cells and unknown codes pass through."""

    def word(value: Cell) -> Cell:
        return pick(value) if isinstance(value, str) and value else value

    return word


def _yes_no(value: Cell) -> Cell:
    return ("是" if value else "否") if isinstance(value, bool) else value


def _violation(value: str) -> str:
    return EVENT_CODES[Violation(value)].name


def _label(value: str) -> str:
    try:
        return label(value).zh
    except KeyError:
        return value


def _group(group: str | None, names: SiteNames) -> Word:
    """Words for the ``group`` column of a table grouped by ``group`` (``all`` is the whole period's row)."""
    by: dict[str | None, Callable[[str], str]] = {
        "grid": names.grid,
        "unit": names.unit,
        "camera": lambda v: "（照片）" if v == "(photos)" else names.camera(v),
        "violation": _violation,
        "label": _label,
        "week": lambda v: i18n.week_name("zh", v, long=True),
    }
    pick = by.get(group, str)
    return _text(lambda v: "全部" if v == "all" else pick(v))


def _words(names: SiteNames, group: str | None) -> dict[str, Word]:
    return {
        "state": _text(lambda v: i18n.state_name("zh", v)),
        "violation": _text(_violation),
        "label": _text(_label),
        "grid_id": _text(names.grid),
        "grid": _text(names.grid),
        "unit_id": _text(names.unit),
        "unit": _text(names.unit),
        "camera_id": _text(names.camera),
        "place_id": _text(names.place),
        "overdue": _yes_no,
        "recurrent": _yes_no,
        "source": _text(lambda v: SOURCES.get(v, v)),
        "due": _text(lambda v: i18n.t("zh", f"due.{v}")),
        "list": _text(lambda v: "/".join(HONOURS.get(part, part) for part in v.split("/"))),
        "week": _text(lambda v: i18n.week_name("zh", v, long=True)),
        "group": _group(group, names),
    }


def _local(value: Cell, tz: tzinfo) -> Cell:
    """An aware time as the site's wall-clock time, to the second, without a zone (Excel has none)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(tz).replace(tzinfo=None, microsecond=0)
    return value


def chinese(table: Table, names: SiteNames, tz: tzinfo, group: str | None = None) -> Table:
    """``table`` with Chinese headers and cells and local times; shapes unchanged (same rows and columns)."""
    words = _words(names, group)
    keys: Sequence[str] = table.header
    kpi_like = "closure_rate" in keys  # its "due" is a count, not a deadline state
    columns = [None if (kpi_like and key == "due") else words.get(key) for key in keys]
    header = [_KPI_DUE if (kpi_like and key == "due") else HEADERS.get(key, key) for key in keys]
    rows = [
        tuple(_local(word(v) if word else v, tz) for v, word in zip(row, columns, strict=True)) for row in table.rows
    ]
    return replace(table, name=SHEETS.get(table.name, table.name), header=header, rows=rows)


def localise(request: Request, session: Session, tz: tzinfo, table: Table, group: str | None = None) -> Table:
    """``table`` in the request's language: unchanged for English, :func:`chinese` for Chinese."""
    lang: Lang = i18n.choose_lang(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    return table if lang == "en" else chinese(table, site_names(session), tz, group)
