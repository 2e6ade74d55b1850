# ruff: noqa: RUF001 - Chinese text is written with full-width punctuation
"""The web UI's words in Chinese and English.

Operators (座席员) work in Chinese; English is there for maintainers and visitors. The language comes from the
``lang`` query parameter (which the UI then remembers in a cookie), else that cookie, else the browser's
``Accept-Language``. Violation names are the national event names of :data:`domain.taxonomy.EVENT_CODES`
with their codes, so a case reads the same here as in the city's own system.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from domain.lifecycle import Action, CaseState
from domain.taxonomy import EVENT_CODES, LABEL_NAMES, Violation, label

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
LANG_COOKIE = "lang"

# key: (Chinese, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "app": ("GridWatch 网格巡查", "GridWatch"),
    "nav.review": ("审核队列", "Review queue"),
    "nav.cases": ("案件", "Cases"),
    "nav.cameras": ("摄像头", "Cameras"),
    "nav.dashboard": ("统计", "Dashboard"),
    "nav.main": ("主导航", "Main navigation"),
    "lang.switch": ("English", "中文"),
    "logout": ("退出", "Sign out"),
    "login.title": ("登录", "Sign in"),
    "login.name": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.refused": ("用户名或密码错误", "Wrong user name or password"),
    "login.throttled": ("失败次数过多，请稍后再试", "Too many failed attempts; try again later"),
    "role.admin": ("管理员", "admin"),
    "role.operator": ("座席员", "operator"),
    "role.unit_handler": ("责任单位", "unit handler"),
    "role.viewer": ("只读", "viewer"),
    # review queue
    "review.title": ("审核队列", "Review queue"),
    "review.count": ("待审核", "pending review"),
    "review.empty": ("暂无待审核案件", "Nothing to review"),
    "review.keys": (
        "快捷键：j/k 上下移动，f 立案，r 不予立案，l 改类，x 勾选，u 撤销",
        "Keys: j/k move, f file, r reject, l relabel, x select, u undo",
    ),
    "review.undo": ("撤销", "Undo"),
    "review.undone": ("已撤销", "Undone"),
    "review.done.file": ("已立案：", "Filed: "),
    "review.done.reject": ("不予立案：", "Rejected: "),
    "review.done.relabel": ("已改类：", "Relabelled: "),
    "review.none_selected": ("请先勾选案件", "Select some cases first"),
    "review.confirm_reject": ("确定不予立案？", "Reject for good?"),
    "review.confirm_reject_hint": (
        "不予立案后案件即终结，不能再立案。提交前仍可撤销。",
        "A rejected case ends there and cannot be filed later. You can still undo it before it is sent.",
    ),
    "review.cancel": ("取消", "Cancel"),
    "review.select_all": ("全选", "Select all"),
    "review.selected": ("勾选", "Select"),
    "review.bulk_file": ("批量立案", "File selected"),
    "review.bulk_reject": ("批量不予立案", "Reject selected"),
    "review.relabel_to": ("改为", "Relabel as"),
    "verdict.file": ("立案", "File"),
    "verdict.reject": ("不予立案", "Reject"),
    "verdict.relabel": ("改类", "Relabel"),
    "verdict.confirm": ("确认", "confirmed"),
    # case fields
    "case": ("案件", "Case"),
    "case.type": ("类型", "Type"),
    "case.state": ("状态", "State"),
    "case.grid": ("网格", "Grid"),
    "case.unit": ("责任单位", "Unit"),
    "case.camera": ("摄像头", "Camera"),
    "case.place": ("点位", "Place"),
    "case.where": ("位置", "Where"),
    "case.confidence": ("置信度", "Confidence"),
    "case.first_seen": ("首次发现", "First seen"),
    "case.last_seen": ("最近发现", "Last seen"),
    "case.sightings": ("发现次数", "Sightings"),
    "case.deadline": ("处置期限", "Deadline"),
    "case.overdue": ("已超期", "Overdue"),
    "case.needs_rework": ("疑似未整改", "Seen again: rework?"),
    "case.rectified": ("摄像头显示已整改", "Camera saw the place clear"),
    "case.recurrence": ("反复出现，前案", "Recurrence of case"),
    "case.model": ("模型", "Model"),
    "case.evidence": ("证据", "Evidence"),
    "case.timeline": ("处理记录", "Timeline"),
    "case.verdicts": ("审核意见", "Verdicts"),
    "case.actions": ("操作", "Actions"),
    "case.no_actions": ("当前状态无可用操作", "No action in this state"),
    "case.note": ("备注", "Note"),
    "case.new_deadline": ("新期限", "New deadline"),
    "case.photo": ("处置照片", "Handling photo"),
    "case.unit_default": ("网格责任单位", "the grid's unit"),
    "case.actor": ("操作人", "By"),
    "evidence.sighting": ("发现", "Sighting"),
    "evidence.handling": ("处置反馈", "Handling"),
    "evidence.before": ("整改前", "Before"),
    "evidence.after": ("整改后", "After"),
    "evidence.original": ("原图", "original"),
    "evidence.annotated": ("标注图", "annotated"),
    "evidence.crop": ("局部", "crop"),
    "evidence.none": ("暂无", "None yet"),
    "evidence.full": ("查看原尺寸", "Full size"),
    "evidence.sightings": ("全部发现记录", "All sightings"),
    "poster.title": ("小广告内容与电话", "Poster text and phone numbers"),
    "poster.number": ("电话号码", "Number"),
    "poster.text": ("识别文字", "Text read"),
    "poster.seen": ("识别时间", "Read at"),
    "phone.mobile": ("手机", "mobile"),
    "phone.landline": ("固定电话", "landline"),
    # case list
    "cases.title": ("案件列表", "Cases"),
    "cases.filters": ("筛选", "Filters"),
    "cases.any": ("全部", "Any"),
    "cases.open": ("未结案件（按期限）", "Open, by deadline"),
    "cases.all": ("全部案件", "All cases"),
    "cases.from": ("起始日期", "From"),
    "cases.to": ("截止日期", "To"),
    "cases.overdue_only": ("仅超期", "Overdue only"),
    "due.overdue": ("已超期", "Overdue"),
    "due.due_soon": ("即将到期", "Due soon"),
    "due.on_time": ("办理中", "On time"),
    "due.hours_left": ("剩余 {hours} 小时", "{hours} h left"),
    "due.hours_over": ("超期 {hours} 小时", "{hours} h overdue"),
    "cases.apply": ("筛选", "Apply"),
    "cases.clear": ("清除", "Clear"),
    "cases.total": ("件", "cases"),
    "cases.none": ("没有符合条件的案件", "No case matches"),
    "page.prev": ("上一页", "Previous"),
    "page.next": ("下一页", "Next"),
    "page.nav": ("分页", "Pages"),
    "page.of": ("第 %d / %d 页", "page %d of %d"),
    # cameras and the zone editor
    "cameras.title": ("摄像头", "Cameras"),
    "cameras.none": ("未配置摄像头", "No camera configured"),
    "camera.snapshot": ("实时画面", "Live snapshot"),
    "camera.no_frame": ("暂无画面", "No frame yet"),
    "zones.title": ("区域", "Zones"),
    "zones.help": (
        "点击“新建区域”后在画面上逐点点击，点回第一个点或按回车闭合；拖动顶点可修改，选中顶点按 Delete 删除。",
        "Press “New zone”, then click points on the picture; click the first point or press Enter to close it. "
        "Drag a point to move it; Delete removes the selected point.",
    ),
    "zones.new": ("新建区域", "New zone"),
    "zones.id": ("编号", "Id"),
    "zones.kind": ("类型", "Kind"),
    "zones.delete": ("删除区域", "Delete zone"),
    "zones.save": ("保存区域", "Save zones"),
    "zones.saved": ("已保存", "Saved"),
    "zones.failed": ("保存失败", "Saving failed"),
    "zones.drawing": ("绘制中：点击添加顶点", "Drawing: click to add points"),
    "zones.readonly": ("只有管理员可以修改区域", "Only an admin can change zones"),
    "zone.no_parking": ("禁停区", "no parking"),
    "zone.fire_lane": ("消防通道", "fire lane"),
    "zone.sidewalk": ("人行道", "sidewalk"),
    "zone.bin_point": ("垃圾收集点", "bin point"),
    "zone.wall": ("墙面", "wall"),
    # dashboard
    "dash.title": ("统计", "Dashboard"),
    "dash.per_week": ("各类案件（按周）", "Cases per type and week"),
    "dash.kpis": ("考核指标", "KPIs"),
    "dash.period": ("统计周期", "Period"),
    "dash.weeks": ("周", "weeks"),
    "dash.ranking": ("网格周排名", "Weekly grid ranking"),
    "dash.best": ("最好", "Best"),
    "dash.worst": ("最差", "Worst"),
    "dash.no_ranking": ("本周没有到期案件", "No case due that week"),
    "dash.heat": ("反复出现热点（网格 × 周）", "Recurrence hot spots (grid × week)"),
    "dash.map": ("反复出现地图", "Recurrence map"),
    "dash.no_heat": ("暂无反复出现的案件", "No recurrence yet"),
    "dash.data": ("数据表", "Data table"),
    "dash.site_map": ("辖区地图", "Site map"),
    "dash.site_map_hint": (
        "蓝色为网格，灰点为点位，绿点为摄像头，红点为未结案件；无需联网。",
        "Blue: grids; grey: places; green: cameras; red: open cases. Works without internet access.",
    ),
    "kpi.due": ("应结案数", "Due"),
    "kpi.closure_rate": ("结案率", "Closure rate"),
    "kpi.on_time_rate": ("按期结案率", "On-time closure rate"),
    "kpi.rework_rate": ("返工率", "Rework rate"),
    "kpi.extension_rate": ("延期率", "Extension rate"),
    "kpi.recurrence_rate": ("复发率", "Recurrence rate"),
    "kpi.hours_to_dispatch": ("平均派遣用时（小时）", "Mean hours to dispatch"),
    "kpi.hours_to_close": ("平均结案用时（小时）", "Mean hours to close"),
    "error.title": ("出错了", "Something went wrong"),
}

STATE_NAMES: dict[CaseState, tuple[str, str]] = {
    CaseState.PENDING_REVIEW: ("待审核", "pending review"),
    CaseState.FILED: ("已立案", "filed"),
    CaseState.REJECTED: ("不予立案", "rejected"),
    CaseState.DISPATCHED: ("已派遣", "dispatched"),
    CaseState.EXTENDED: ("已延期", "extended"),
    CaseState.DEFERRED: ("缓办", "deferred"),
    CaseState.HANDLED: ("已处置", "handled"),
    CaseState.VERIFIED: ("已核查", "verified"),
    CaseState.RETURNED: ("返工", "returned for rework"),
    CaseState.CLOSED: ("已结案", "closed"),
}

ACTION_NAMES: dict[str, tuple[str, str]] = {
    Action.FILE: ("立案", "File"),
    Action.REJECT: ("不予立案", "Reject"),
    Action.DISPATCH: ("派遣", "Dispatch"),
    Action.HANDLE: ("处置反馈", "Report handled"),
    Action.EXTEND: ("延期", "Extend"),
    Action.DEFER: ("缓办", "Defer"),
    Action.SEND_BACK: ("退回", "Send back"),
    Action.RESUME: ("恢复办理", "Resume"),
    Action.VERIFY: ("核查通过", "Verify"),
    Action.RETURN: ("返工", "Return for rework"),
    Action.CLOSE: ("结案", "Close"),
    # case-log entries that are not transitions (service.cases.caselog.LogAction)
    "open": ("发现", "Opened"),
    "propose_rectified": ("建议结案：已整改", "Proposed rectified"),
    "flag_rework": ("疑似未整改", "Flagged for rework"),
    "verdict": ("审核意见", "Verdict"),
    "supervise": ("督办", "Supervise"),
    "request_extend": ("申请延期", "Ask for an extension"),
    "request_defer": ("申请缓办", "Ask to defer"),
    "refuse_request": ("驳回申请", "Request refused"),
    "relocate": ("更正位置", "Place corrected"),
}

VIOLATION_EN: dict[Violation, str] = {
    Violation.MOTOR_PARKING: "Motor-vehicle parking",
    Violation.NON_MOTOR_PARKING: "Non-motor parking",
    Violation.DEBRIS: "Piled debris",
    Violation.BIN_OVERFLOW: "Overflowing bin",
    Violation.EXPOSED_GARBAGE: "Exposed garbage",
    Violation.FLYPOSTING: "Flyposting / small ads",
    Violation.FACADE_GRAFFITI: "Facade graffiti",
}


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "zh" else pair[1]


def t(lang: Lang, key: str) -> str:
    """The message ``key`` in ``lang``; an unknown key raises KeyError (a typo must fail the tests)."""
    return _pick(MESSAGES[key], lang)


def violation_name(lang: Lang, violation: str) -> str:
    """``09009 机动车乱停放`` or ``09009 Motor-vehicle parking``."""
    v = Violation(violation)
    code = EVENT_CODES[v]
    return f"{code.code} {code.name if lang == 'zh' else VIOLATION_EN[v]}"


def label_name(lang: Lang, name: str) -> str:
    """A detector label as operators say it (``bin_overflow``: ``垃圾桶满溢``); English keeps the label."""
    return label(name).zh if lang == "zh" and name in LABEL_NAMES else name


def state_name(lang: Lang, state: str) -> str:
    return _pick(STATE_NAMES[CaseState(state)], lang)


def action_name(lang: Lang, action: str) -> str:
    """A lifecycle action or a case-log entry; an unknown log entry is shown as it is stored."""
    pair = ACTION_NAMES.get(action)
    return _pick(pair, lang) if pair else action


def week_name(lang: Lang, label: str, *, long: bool = False) -> str:
    """An ISO week label ``2026-W49`` as people say it: ``第49周`` / ``week 49``; ``long`` adds its days,
    ``第49周 (2026-11-30 至 12-06)`` / ``week 49 (2026-11-30 to 12-06)``."""
    year, week = label.split("-W")
    monday = date.fromisocalendar(int(year), int(week), 1)
    short = f"第{int(week)}周" if lang == "zh" else f"week {int(week)}"
    if not long:
        return short
    sunday = monday + timedelta(days=6)
    return f"{short} ({monday.isoformat()} {'至' if lang == 'zh' else 'to'} {sunday:%m-%d})"


def choose_lang(query: str | None, cookie: str | None, accept_language: str | None) -> Lang:
    """The language of a request: ``?lang=``, else the cookie, else Chinese when the browser prefers it."""
    for value in (query, cookie):
        for lang in LANGS:
            if value == lang:
                return lang
    first = (accept_language or "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"
