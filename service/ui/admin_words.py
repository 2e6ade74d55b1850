# ruff: noqa: RUF001 - Chinese text is written with full-width punctuation
"""The admin screens' machine-written words in the reader's language: audit-log actions, targets and details,
and the reasons a photo of an upload was refused or failed.

The audit log and the batch tables keep what the service wrote (English, ids): the API and maintainers read them
as they are. The Chinese pages say the same in Chinese, with site rows by name; a reason no pattern knows is shown
as written (it came from a library, and hiding it would hide the cause).
"""

from __future__ import annotations

import re
from typing import Any

from domain.lifecycle import CaseState
from service.ui import i18n
from service.ui.i18n import Lang
from service.ui.queries import SiteNames

# (pattern of an upload's or a photo's error, Chinese with $1 for the first group)
PHOTO_ERRORS: tuple[tuple[str, str], ...] = (
    (r"empty file", "空文件"),
    (r"not an image, or an unsupported image format", "不是图片，或图片格式不受支持"),
    (r"unsupported image format (\S+); use JPEG, PNG, WebP or BMP", "不支持 $1 格式，请用 JPEG、PNG、WebP 或 BMP"),
    (r"image too large: (.*)", "图片过大：$1"),
    (r"file too large: (.*)", "文件过大：$1"),
    (r"file larger than ([\d,]+) bytes", "文件超过 $1 字节的上限"),
    (r"truncated (\w+) file", "$1 文件不完整（传输中断？）"),
    (r"corrupt image header: (.*)", "图片文件头损坏：$1"),
    (r"corrupt (\w+) data: the image could not be decoded", "$1 数据损坏，无法解码"),
    (r"image has no pixels \((.*)\)", "图片没有像素（$1）"),
    (r"unsupported (?:pixel type|channel count) (.*)", "不支持的像素格式 $1"),
    (r"unreadable", "无法读取"),
    (r"unreadable zip archive: (.*)", "压缩包无法读取：$1"),
    (r"nested archive not unpacked", "压缩包中的压缩包不解压"),
    (r"not an image file name \(jpg, jpeg, png, webp, bmp\)", "不是图片文件（jpg、jpeg、png、webp、bmp）"),
    (r"entry declares ([\d,]+) bytes, over the limit of ([\d,]+)", "条目大小 $1 字节，超过上限"),
    (r"entry inflates (\S+)x \(zip bomb\)", "解压后膨胀 $1 倍（疑似压缩炸弹）"),
    (r"corrupt archive entry: (.*)", "压缩包条目损坏：$1"),
    (r"absolute path in archive", "压缩包内含绝对路径"),
    (r"path escapes the archive \('\.\.'\)", "压缩包内路径越界（..）"),
    (r"symbolic link in archive", "压缩包内含符号链接"),
    (r"encrypted archive entry", "压缩包条目已加密"),
    (r"archive entry too large: (.*)", "压缩包条目过大：$1"),
    (r"cancelled by (.*)", "已被 $1 取消"),
    (r"internal error \((\w+)\); the photo was set aside", "内部错误（$1），该照片已搁置"),
    (r"unknown (camera|place|grid|unit) '(.*)': not in the site configuration", "站点配置中没有该位置"),
)

_STATES = frozenset(s.value for s in CaseState)
# The audit entries' target kinds (``case:12``, ``user:li``...) as people say them.
_TARGET_KINDS: dict[str, tuple[str, str]] = {
    "case": ("案件", "case"),
    "user": ("用户", "user"),
    "token": ("令牌", "token"),
    "webhook": ("事件推送", "webhook"),
    "batch": ("照片批次", "photo batch"),
    "request": ("申请", "request"),
    "camera": ("摄像头", "camera"),
    "cameras": ("摄像头", "camera"),
    "places": ("点位", "place"),
    "grids": ("网格", "grid"),
    "units": ("责任单位", "unit"),
}
# The audit details' keys, in Chinese; values are shown as stored (notes, names, numbers).
_DETAIL_KEYS: dict[str, str] = {
    "address": "地址",
    "name": "名称",
    "scopes": "权限",
    "expires_at": "到期时间",
    "url": "地址",
    "status": "状态码",
    "error": "错误",
    "role": "角色",
    "grids": "网格",
    "active": "启用",
    "password": "密码",
    "to": "新状态",
    "note": "备注",
    "unit_id": "责任单位",
    "deadline": "期限",
    "cancelled": "取消张数",
    "miss": "漏检记录",
    "verdict": "审核意见",
    "violation": "类型",
    "zones": "区域",
    "kind": "类别",
    "reason": "理由",
    "source": "来源",
}


def _sub(pattern: str, template: str, text: str) -> str | None:
    match = re.fullmatch(pattern, text)
    return None if match is None else template.replace("$1", match.group(1) if match.groups() else "")


def photo_error(lang: Lang, error: str | None) -> str:
    """Why a photo of an upload was refused or failed, in ``lang``; an unknown reason is shown as written."""
    if not error:
        return ""
    if lang == "zh":
        for pattern, template in PHOTO_ERRORS:
            if (said := _sub(pattern, template, error)) is not None:
                return said
    return error


def audit_action(lang: Lang, action: str) -> str:
    """An audit action (``token.create``, ``case.dispatch``) as people say it; an unknown one as stored."""
    key = f"adm.act.{action}"
    if key in i18n.MESSAGES:
        return i18n.t(lang, key)
    kind, _, verb = action.partition(".")
    if kind == "case" and verb in i18n.ACTION_NAMES:
        return i18n.action_name(lang, verb)
    return action


def audit_target(lang: Lang, target: str, names: SiteNames) -> str:
    """What an entry acted on, by name: ``case:12`` is 案件 #12, ``grids:south`` the grid's name."""
    kind, sep, key = target.partition(":")
    if not sep:
        return i18n.t(lang, "adm.audit.site") if target == "site" else target
    site = {"camera": names.camera, "cameras": names.camera, "places": names.place, "grids": names.grid}
    named = site.get(kind) or (names.unit if kind == "units" else None)
    pair = _TARGET_KINDS.get(kind, (kind, kind))
    said = pair[0] if lang == "zh" else pair[1]
    if named is not None:
        return f"{said} {named(key)}"
    return f"{said} #{key}" if key.isdigit() else f"{said} {key}"


def audit_details(lang: Lang, details: dict[str, Any]) -> list[tuple[str, str]]:
    """An entry's details as (key, value) lines, keys in Chinese for ``zh``: a case state by name, a list of
    records (zones) as its length; empty values are left out."""
    lines = []
    for key, value in details.items():
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            shown = str(len(value))
        elif key == "scopes" and isinstance(value, list):
            shown = ", ".join(i18n.t(lang, f"adm.tokens.scope.{v}") for v in value)
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        elif key == "to" and value in _STATES:
            shown = i18n.state_name(lang, value)
        elif key == "role" and f"role.{value}" in i18n.MESSAGES:
            shown = i18n.t(lang, f"role.{value}")
        else:
            shown = str(value)
        lines.append((_DETAIL_KEYS.get(key, key) if lang == "zh" else key, shown[:300]))
    return lines
