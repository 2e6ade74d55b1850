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
    # admin and operator screens: exports, photo batches, tokens, audit log, webhooks, phone numbers (issue 18.5)
    "adm.nav.menu": ("管理", "Admin"),
    "adm.nav.exports": ("数据导出", "Exports"),
    "adm.nav.batches": ("照片批量上传", "Photo upload"),
    "adm.nav.phones": ("小广告电话", "Phone numbers"),
    "adm.nav.tokens": ("接入令牌", "Ingest tokens"),
    "adm.nav.webhooks": ("事件推送", "Webhooks"),
    "adm.nav.audit": ("操作日志", "Audit log"),
    "adm.forbidden": ("您的角色无权使用此页面", "Your role may not use this page"),
    "adm.any": ("全部", "Any"),
    "adm.from": ("起始日期", "From"),
    "adm.to": ("截止日期", "To"),
    "adm.created_by": ("创建人", "Created by"),
    "adm.created_at": ("创建时间", "Created"),
    "adm.actions": ("操作", "Actions"),
    "adm.error.bad_dates": ("截止日期不能早于起始日期", "The end date is before the start date"),
    "adm.error.too_long": ("时间跨度不能超过三年", "The period may be at most three years"),
    "adm.error.bad_date": ("日期格式不对，请用 年-月-日", "Not a date: use year-month-day"),
    "adm.error.unknown_grid": ("没有这个网格", "No such grid"),
    "adm.error.min_cases": ("案件数须为 1 到 10000 之间的整数", "Cases: a whole number from 1 to 10000"),
    "adm.error.400": ("请求有误，请检查后重试", "The request was malformed; check it and try again"),
    "adm.error.401": ("登录已过期，请重新登录", "Your session expired; sign in again"),
    "adm.error.403": ("无权执行此操作", "You may not do this"),
    "adm.error.404": ("要操作的记录已不存在，请刷新页面", "That record is gone; reload the page"),
    "adm.error.413": ("上传内容超过大小或数量上限", "The upload is over the size or count limit"),
    "adm.error.415": ("上传格式不对", "Wrong upload format"),
    "adm.error.422": ("填写的内容有误，请检查", "Something you entered is not valid; check it"),
    "adm.error.429": ("操作太频繁，请稍后再试", "Too many requests; try again later"),
    "adm.error.500": ("服务器出错，请稍后再试", "The server failed; try again later"),
    "adm.error.503": ("服务暂时不可用，请稍后再试", "The service is unavailable for a moment; try again"),
    "adm.error.network": ("网络中断，未能提交，请重试", "The network failed; nothing was sent, try again"),
    # exports
    "adm.exports.title": ("数据导出", "Exports"),
    "adm.exports.hint": (
        "选择内容、时段、网格和格式后下载；表头、名称和时间均为中文和本地时间。",
        "Choose what, the period, the grid and the format, then download; English keeps keys, codes and UTC.",
    ),
    "adm.exports.what": ("导出内容", "What"),
    "adm.exports.cases": ("案件明细（按首次发现时间）", "Cases (by first seen)"),
    "adm.exports.kpis": ("考核指标（按处置期限）", "KPIs (by deadline)"),
    "adm.exports.grid": ("网格（仅案件明细）", "Grid (cases only)"),
    "adm.exports.by": ("分组（仅考核指标）", "Group by (KPIs only)"),
    "adm.exports.by_none": ("不分组（合计）", "Overall"),
    "adm.exports.by_grid": ("按网格", "By grid"),
    "adm.exports.by_unit": ("按责任单位", "By unit"),
    "adm.exports.by_violation": ("按案件类型", "By type"),
    "adm.exports.by_week": ("按周", "By week"),
    "adm.exports.format": ("格式", "Format"),
    "adm.exports.xlsx": ("Excel 表格（.xlsx）", "Excel (.xlsx)"),
    "adm.exports.csv": ("CSV 文本（.csv）", "CSV (.csv)"),
    "adm.exports.download": ("下载", "Download"),
    "adm.exports.scope": ("只包含您有权查看的案件", "Only the cases you may see"),
    # photo batches
    "adm.batches.title": ("照片批量上传", "Photo batch upload"),
    "adm.batches.hint": (
        "一次可选多张照片或 zip 压缩包；未选点位时按照片自带的 GPS 位置归属。",
        "Choose many photos or zip archives; without a place, each photo's own GPS position is used.",
    ),
    "adm.batches.files": ("照片或压缩包", "Photos or zip archives"),
    "adm.batches.place": ("巡查点位", "Patrol place"),
    "adm.batches.place_gps": ("按照片 GPS 位置", "From each photo's GPS"),
    "adm.batches.upload": ("上传", "Upload"),
    "adm.batches.uploading": ("正在上传", "Uploading"),
    "adm.batches.no_files": ("请先选择照片", "Choose some photos first"),
    "adm.batches.recent": ("最近的批次", "Recent batches"),
    "adm.batches.none": ("还没有上传过照片", "No batch uploaded yet"),
    "adm.batches.batch": ("批次", "Batch"),
    "adm.batches.state.queued": ("排队中", "queued"),
    "adm.batches.state.processing": ("识别中", "processing"),
    "adm.batches.state.done": ("已完成", "done"),
    "adm.batches.progress": ("已处理 {processed} / {total} 张", "{processed} of {total} photos processed"),
    "adm.batches.failed": ("失败照片", "Photos failed"),
    "adm.batches.rejected": ("上传时被拒收", "Refused at upload"),
    "adm.batches.more_failed": ("另有 {n} 张失败未列出", "{n} more failed, not listed"),
    "adm.batches.outcome.opened": ("新立案件", "Cases opened"),
    "adm.batches.outcome.recurred": ("反复出现（新案）", "Recurrences (new cases)"),
    "adm.batches.outcome.updated": ("补充到已有案件", "Added to open cases"),
    "adm.batches.outcome.duplicate": ("重复照片", "Already seen"),
    "adm.batches.nothing_found": ("未发现违规", "No violation found"),
    "adm.batches.by": ("上传人", "Uploaded by"),
    "adm.batches.photo": ("照片", "Photo"),
    "adm.batches.reason": ("原因", "Reason"),
    # ingest tokens
    "adm.tokens.title": ("接入令牌", "Ingest tokens"),
    "adm.tokens.hint": (
        "令牌供摄像头盒子和巡查终端上传照片使用；令牌只在创建时显示一次，请立即复制保存。",
        "Tokens let camera boxes and patrol devices upload photos; a token is shown once, when it is created.",
    ),
    "adm.tokens.new": ("新建令牌", "New token"),
    "adm.tokens.name": ("用途名称", "What it is for"),
    "adm.tokens.days": ("有效天数", "Valid for (days)"),
    "adm.tokens.scope": ("权限", "Scope"),
    "adm.tokens.scope.ingest": ("上传照片和画面", "upload photos and frames"),
    "adm.tokens.create": ("创建", "Create"),
    "adm.tokens.created": ("令牌已创建，只显示这一次，请立即复制：", "Token created; it is shown only now, copy it:"),
    "adm.tokens.copy": ("复制", "Copy"),
    "adm.tokens.copied": ("已复制", "Copied"),
    "adm.tokens.expires": ("到期时间", "Expires"),
    "adm.tokens.state": ("状态", "State"),
    "adm.tokens.active": ("有效", "active"),
    "adm.tokens.revoked": ("已吊销", "revoked"),
    "adm.tokens.expired": ("已过期", "expired"),
    "adm.tokens.revoke": ("吊销", "Revoke"),
    "adm.tokens.confirm_revoke": (
        "吊销后使用该令牌的设备将无法再上传，确定吊销？",
        "Devices using it can no longer upload. Revoke?",
    ),
    "adm.tokens.done_revoke": ("已吊销令牌", "Token revoked"),
    "adm.tokens.none": ("还没有接入令牌", "No ingest token yet"),
    "adm.tokens.need_name": ("请填写用途名称", "Say what the token is for"),
    "adm.tokens.bad_days": ("有效天数须大于 0 且不超过 366", "Days must be more than 0 and at most 366"),
    # audit log
    "adm.audit.title": ("操作日志", "Audit log"),
    "adm.audit.user": ("操作人", "User"),
    "adm.audit.action": ("操作", "Action"),
    "adm.audit.when": ("时间", "When"),
    "adm.audit.target": ("对象", "Target"),
    "adm.audit.details": ("详情", "Details"),
    "adm.audit.apply": ("筛选", "Apply"),
    "adm.audit.clear": ("清除", "Clear"),
    "adm.audit.total": ("条", "entries"),
    "adm.audit.none": ("没有符合条件的记录", "No entry matches"),
    "adm.audit.site": ("站点配置", "site configuration"),
    "adm.act.auth.login": ("登录", "Signed in"),
    "adm.act.auth.login_failed": ("登录失败", "Sign-in failed"),
    "adm.act.auth.logout": ("退出登录", "Signed out"),
    "adm.act.user.create": ("新建用户", "User created"),
    "adm.act.user.update": ("修改用户", "User changed"),
    "adm.act.user.revoke_sessions": ("强制下线", "Signed out everywhere"),
    "adm.act.token.create": ("新建接入令牌", "Token created"),
    "adm.act.token.revoke": ("吊销令牌", "Token revoked"),
    "adm.act.webhook.add": ("添加事件推送", "Webhook added"),
    "adm.act.webhook.remove": ("删除事件推送", "Webhook removed"),
    "adm.act.webhook.test": ("测试事件推送", "Webhook tested"),
    "adm.act.batch.cancel": ("取消照片批次", "Photo batch cancelled"),
    "adm.act.case.file_manual": ("人工立案", "Manual case filed"),
    "adm.act.case.verdict": ("审核意见", "Verdict"),
    "adm.act.request.approve": ("批准申请", "Request approved"),
    "adm.act.request.refuse": ("驳回申请", "Request refused"),
    "adm.act.quality.miss": ("上报漏检", "Miss reported"),
    "adm.act.site.replace": ("替换站点配置", "Site replaced"),
    "adm.act.site.put_unit": ("修改责任单位", "Unit saved"),
    "adm.act.site.put_grid": ("修改网格", "Grid saved"),
    "adm.act.site.put_camera": ("修改摄像头", "Camera saved"),
    "adm.act.site.put_place": ("修改点位", "Place saved"),
    "adm.act.site.delete_unit": ("删除责任单位", "Unit deleted"),
    "adm.act.site.delete_grid": ("删除网格", "Grid deleted"),
    "adm.act.site.delete_camera": ("删除摄像头", "Camera deleted"),
    "adm.act.site.delete_place": ("删除点位", "Place deleted"),
    "adm.act.site.put_zones_camera": ("修改摄像头区域", "Camera zones saved"),
    "adm.act.site.put_zones_place": ("修改点位区域", "Place zones saved"),
    # webhooks
    "adm.hooks.title": ("事件推送", "Webhooks"),
    "adm.hooks.hint": (
        "案件的每条处理记录都会以签名 JSON 推送到这些地址；失败会自动重试。",
        "Every case-log entry is POSTed as signed JSON to these addresses; failures are retried.",
    ),
    "adm.hooks.url": ("接收地址", "URL"),
    "adm.hooks.secret": ("签名密钥（至少 16 位）", "Signing secret (16+ characters)"),
    "adm.hooks.generate": ("随机生成", "Generate"),
    "adm.hooks.events": ("推送哪些操作", "Which actions"),
    "adm.hooks.all_events": ("全部操作", "every action"),
    "adm.hooks.events_hint": ("（都不勾选即推送全部操作）", "(none ticked: every action)"),
    "adm.hooks.add": ("添加", "Add"),
    "adm.hooks.added": ("已添加事件推送", "Webhook added"),
    "adm.hooks.last": ("最近一次推送", "Last delivery"),
    "adm.hooks.never": ("尚未推送", "none yet"),
    "adm.hooks.failed_count": ("失败 {n} 次", "{n} failed"),
    "adm.hooks.delivery.pending": ("待重试", "to retry"),
    "adm.hooks.delivery.delivered": ("已送达", "delivered"),
    "adm.hooks.delivery.failed": ("失败", "failed"),
    "adm.hooks.test": ("测试", "Test"),
    "adm.hooks.test_ok": ("测试成功：接收方返回 HTTP {status}", "Test delivered: the receiver answered HTTP {status}"),
    "adm.hooks.test_status": ("测试失败：接收方返回 HTTP {status}", "Test failed: the receiver answered HTTP {status}"),
    "adm.hooks.test_no_answer": ("测试失败：连接不上接收方", "Test failed: the receiver did not answer"),
    "adm.hooks.remove": ("删除", "Remove"),
    "adm.hooks.confirm_remove": (
        "删除后不再向该地址推送（已有记录保留），确定删除？",
        "Stop sending to this URL (its log is kept)?",
    ),
    "adm.hooks.removed": ("已删除事件推送", "Webhook removed"),
    "adm.hooks.none": ("还没有事件推送", "No webhook yet"),
    "adm.hooks.bad_url": ("请填写以 http:// 或 https:// 开头的完整地址", "Enter a full http:// or https:// URL"),
    "adm.hooks.short_secret": ("签名密钥至少 16 位", "The secret needs 16 characters or more"),
    # phone numbers
    "adm.phones.title": ("小广告电话号码", "Phone numbers on posters"),
    "adm.phones.hint": (
        "从小广告照片中识别出的电话号码，出现在案件最多的在前。",
        "Numbers read on small-ad posters, the one on most cases first.",
    ),
    "adm.phones.min_cases": ("至少出现在几个案件中", "On at least this many cases"),
    "adm.phones.number": ("电话号码", "Number"),
    "adm.phones.kind": ("类型", "Kind"),
    "adm.phones.count": ("案件数", "Cases"),
    "adm.phones.cases": ("相关案件", "Cases"),
    "adm.phones.grids": ("网格", "Grids"),
    "adm.phones.sightings": ("识别次数", "Times read"),
    "adm.phones.first": ("首次发现", "First seen"),
    "adm.phones.last": ("最近发现", "Last seen"),
    "adm.phones.none": ("还没有识别到电话号码", "No number read yet"),
    "adm.phones.show": ("显示", "Show"),
    "kpi.due": ("应结案数", "Due"),
    "kpi.closure_rate": ("结案率", "Closure rate"),
    "kpi.on_time_rate": ("按期结案率", "On-time closure rate"),
    "kpi.rework_rate": ("返工率", "Rework rate"),
    "kpi.extension_rate": ("延期率", "Extension rate"),
    "kpi.recurrence_rate": ("复发率", "Recurrence rate"),
    "kpi.hours_to_dispatch": ("平均派遣用时（小时）", "Mean hours to dispatch"),
    "kpi.hours_to_close": ("平均结案用时（小时）", "Mean hours to close"),
    "error.title": ("出错了", "Something went wrong"),
    # dashboard for the wall, rankings, 周曝光, 红黑榜 and the weekly report (issue 18)
    "dash.today": ("今日概况", "Today"),
    "dash.today_new": ("今日新增", "New today"),
    "dash.today_open": ("未结案件", "Open cases"),
    "dash.today_overdue": ("超期案件", "Overdue cases"),
    "dash.unit_ranking": ("责任单位周排名", "Weekly unit ranking"),
    "dash.ranking_public": ("排名覆盖全部网格和责任单位", "Rankings cover every grid and unit"),
    "dash.rank": ("名次", "Rank"),
    "dash.list": ("榜单", "List"),
    "dash.red": ("红榜", "Red list"),
    "dash.black": ("黑榜", "Black list"),
    "dash.honours": ("红黑榜", "Red and black lists"),
    "dash.honours_hint": (
        "按期结案率最高（红榜）与最低（黑榜）的责任单位和网格",
        "Units and grids with the best (red) and worst (black) on-time closure",
    ),
    "dash.no_honours": ("参与排名的不足两个，暂无红黑榜", "Fewer than two ranked: no red or black list"),
    "dash.exposure": ("周曝光", "Weekly exposure"),
    "dash.exposure_hint": (
        "本周超期未办结的案件，超期最久的在前",
        "Cases overdue and not handled in the week, the longest overdue first",
    ),
    "dash.no_exposure": ("本周没有超期案件", "No case overdue this week"),
    "dash.overdue_hours": ("超期小时", "Hours overdue"),
    "dash.reworks": ("返工次数", "Reworks"),
    "dash.supervisions": ("督办次数", "Supervisions"),
    "dash.report": ("周报", "Weekly report"),
    "dash.report_last": ("上周周报", "Last week's report"),
    "dash.report_xlsx": ("下载 Excel", "Download XLSX"),
    "dash.report_print": ("打印", "Print"),
    "dash.report_print_hint": (
        "按 A4 纵向排版，打印时不含导航",
        "Laid out for A4 portrait; printed without navigation",
    ),
    "dash.report_prev": ("上一周", "Previous week"),
    "dash.report_next": ("下一周", "Next week"),
    "dash.report_week": ("周次", "Week"),
    "dash.report_item": ("项目", "Item"),
    "dash.report_value": ("数值", "Value"),
    "dash.report_summary": ("概况", "summary"),
    "dash.report_scope": ("范围", "Scope"),
    "dash.scope_all": ("全部网格", "All grids"),
    "dash.generated": ("生成时间", "Generated"),
    "dash.week_counts": ("本周案件", "Cases of the week"),
    "dash.week_new": ("新增案件", "New cases"),
    "dash.week_closed": ("结案数", "Closed"),
    "dash.week_overdue": ("超期案件", "Overdue cases"),
    "dash.bad_week": ("没有这一周", "No such week"),
    "dash.case_map": ("案件位置", "Where the case is"),
    "dash.case_map_hint": (
        "红点为案件，灰点为点位，绿点为摄像头，蓝色为所属网格；无需联网。",
        "Red: the case; grey: its place; green: its camera; blue: its grid. Works without internet access.",
    ),
    "dash.no_position": ("该案件没有位置信息", "This case has no position"),
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
