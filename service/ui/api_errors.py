# ruff: noqa: RUF001 - Chinese text is written with full-width punctuation
"""The API's refusals as the workflow screens say them in Chinese.

The workflow forms post to the REST API, whose error details are English for maintainers and machines
(``case 7 already has a request waiting for the centre's decision``). The pages hand these tables to their script
(``forms.js``), which shows the Chinese of the first pattern that matches the detail; a field the API's
validation refused is named by its label on the form, with the reason from :data:`FIELD_REASONS`; anything else
gets its status's sentence. English shows the API's own detail. Patterns are in the regular-expression syntax
Python and JavaScript share, with ``$1``, ``$2`` for groups.
"""

from __future__ import annotations

from typing import Any

from service.ui import i18n
from service.ui.i18n import Lang

# (pattern of the API's ``detail``, Chinese)
DETAILS: tuple[tuple[str, str], ...] = (
    (
        r"^case (\d+) is already open for \S+ at (\S+): (reject case \d+|file none) instead$",
        "该点位已有同类未结案件 #$1，无需重复登记",
    ),
    (r"^unknown place '(.*)': not in the site configuration$", "没有这个点位：$1"),
    (r"^unknown camera '(.*)'.*$", "没有这个摄像头：$1"),
    (r"^unknown grid (.*)$", "没有这个网格：$1"),
    (r"^unknown unit '(.*)'$", "没有这个责任单位：$1"),
    (r"^no case (\d+)$", "案件 #$1 不存在"),
    (r"^no request (\d+)$", "申请 #$1 不存在"),
    (r"^a position needs both lat and lon$", "坐标须同时填写纬度和经度"),
    (r"^\S+ is found as one of (.*): say which label was missed$", "这类违规可由多个识别标签发现，请选择“应识别为”"),
    (r"^label '(.*)' does not raise (.*)$", "所选识别标签与违规类型不符"),
    (r"^a 延期 request on case (\d+) needs a deadline later than the current (.*)$", "延期申请的期限须晚于当前期限"),
    (r"^extending case (\d+) needs a deadline later than the current (.*)$", "批准的期限须晚于案件当前期限"),
    (r"^a 缓办 \(defer\) request takes no deadline$", "缓办申请不需要填写期限"),
    (r"^a refusal takes no deadline$", "驳回申请不需要填写期限"),
    (r"^case (\d+) already has a request waiting for the centre's decision$", "案件 #$1 已有待审批的申请"),
    (r"^request (\d+) was already (approved|refused)$", "申请 #$1 已审批过，请刷新页面"),
    (r"^cannot \S+ case (\d+) in state .*$", "案件 #$1 当前状态不能这样办理（可能已被处理），请刷新页面"),
    (r"^user '(.*)' already exists$", "用户名 $1 已存在"),
    (r"^the name '(.*)' is reserved.*$", "用户名 $1 为系统保留，请换一个"),
    (r"^a unit handler needs its unit or at least one grid$", "责任单位用户须选择所属单位或至少一个网格"),
    (r"^only unit handlers are limited to grids or a unit, not .*$", "只有责任单位用户才需要选择单位和网格"),
    (r"^a password needs (\d+) to (\d+) characters$", "密码须为 $1 至 $2 个字符"),
    (r"^a password needs (\d+) characters besides leading and trailing blanks$", "密码去掉首尾空格后须有 $1 个字符"),
    (r"^this password is among the first that attackers try.*$", "这个密码太常见，容易被猜中，请换一个"),
    (r"^a password must not be the user's name$", "密码不能与用户名相同"),
    (r"^photo over (\d+) MB$", "照片超过 $1 MB"),
    (r"^photo: .*$", "照片无法读取，请上传 JPEG、PNG、WebP 或 BMP 图片"),
    (r"^too many uploads; try again in (\d+) s$", "上传太频繁，请 $1 秒后再试"),
    (r"^database unavailable.*$", "数据库暂时不可用，请稍后再试"),
)
# (pattern of a validation message, what is wrong, said after the field's label)
FIELD_REASONS: tuple[tuple[str, str], ...] = (
    (r"^Field required$", "必须填写"),
    (r"^String should have at least (\d+) characters?$", "至少要 $1 个字符"),
    (r"^String should have at most (\d+) characters?$", "最多 $1 个字符"),
    (r"^String should match pattern .*$", "只能用字母、数字和 _ . @ -，且以字母或数字开头"),
    (r"^Input should be a valid datetime.*$", "时间格式不对"),
    (r"^Input should have timezone info$", "时间格式不对"),
    (r"^Input should be a valid (number|integer).*$", "须为数字"),
    (r"^Input should be (greater|less) than.*$", "超出范围"),
    (r"^Input should be .*$", "选项无效"),
    (r"^.*$", "填写有误"),
)
STATUS: dict[int, str] = {
    401: "登录已过期，请重新登录",
    403: "您的角色无权执行此操作",
    404: "要办理的记录已不存在，请刷新页面",
    409: "记录已被他人修改，请刷新页面",
    413: "上传的文件太大",
    422: "填写的内容有误，请检查",
    429: "操作太频繁，请稍后再试",
    500: "服务器出错，请稍后再试",
    503: "服务暂时不可用，请稍后再试",
}


def error_words(lang: Lang) -> dict[str, Any]:
    """What ``forms.js`` needs to say a refusal in ``lang``: empty tables in English (the API's detail is shown)."""
    chinese = lang == "zh"
    return {
        "details": DETAILS if chinese else [],
        "fields": FIELD_REASONS if chinese else [],
        "status": STATUS if chinese else {},
        "field": i18n.t(lang, "wf.field_error"),
        "failed": i18n.t(lang, "wf.failed"),
        "network": i18n.t(lang, "wf.error.network"),
    }
