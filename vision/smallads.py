"""Is a block of text read on a photo a small ad (小广告)? Words, numbers and layout, no pixels.

A small ad exists to be read: a service (办证, 开锁, 疏通, 贷款 ...) and a number to call, on a sheet pasted where
text does not belong. Legal text says other things: the sorting labels printed on bins (可回收物, 厨余垃圾 ...),
official notices and slogans (文明, 禁止, 公告 ...), traffic and safety signs, and shop signs, whose letters are
large. :func:`judge` weighs those cues for one block; :mod:`vision.textfinder` finds the blocks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from vision.ocr import Phone

SMALL_AD_WORDS: tuple[str, ...] = (
    "办证", "办理证件", "刻章", "代开发票", "开发票", "发票", "开锁", "换锁", "修锁", "疏通",
    "管道", "通下水", "下水道", "马桶", "化粪池", "抽粪", "贷款", "借款", "放款", "无抵押",
    "信用卡", "套现", "招聘", "急聘", "诚聘", "日结", "兼职", "招租", "出租", "租房",
    "转让", "搬家", "家政", "保洁", "保姆", "月嫂", "回收", "收购", "上门", "维修",
    "安装", "清洗", "防水", "补漏", "打孔", "钻孔", "家教", "补习", "包过", "代办",
    "私家侦探", "代孕",
)  # fmt: skip
"""Words of the services small ads sell (a call to action alone, 电话 or 微信, is on shop signs and notices too)."""

LEGAL_WORDS: tuple[str, ...] = (
    "可回收物", "其他垃圾", "厨余垃圾", "有害垃圾", "干垃圾", "湿垃圾", "垃圾分类", "分类投放", "易腐垃圾", "餐厨垃圾",
    "RECYCLABLE", "RESIDUAL", "HAZARDOUS", "文明", "创建", "创城", "核心价值观", "富强", "民主", "和谐",
    "爱国", "敬业", "诚信", "友善", "宣传", "公告", "通告", "通知", "居委会", "街道办",
    "社区", "人民政府", "城管", "公安", "派出所", "党", "中国梦", "讲文明", "树新风", "禁止",
    "严禁", "请勿", "注意安全", "安全出口", "消防", "灭火器", "警示", "限速", "停车场", "单行",
    "慢行", "监控", "STOP", "EXIT", "PARKING", "KITCHEN WASTE", "FOOD WASTE", "OTHER WASTE",
)  # fmt: skip
"""Words of text that must not be flagged (bin labels, notices and slogans, traffic and safety signs)."""

_NORMALISE = re.compile(r"\s+")


@dataclass(frozen=True)
class JudgeSettings:
    """Thresholds of :func:`judge`, all as fractions of the photo's height (text sizes) or counts.

    Attributes:
        max_letter: a block whose letters are taller than this is a sign (a shop's, a street's), not a sheet.
        min_lines: lines a sheet without a service word or phone needs to count by its layout alone.
        threshold: score at which a block is a small ad: a service word alone (a distant agency's sign) or a mobile
            number alone (a shop's) is not enough; either with a number, a QR code, copies or a sheet's layout is.
    """

    max_letter: float = 0.06
    min_lines: int = 3
    threshold: float = 1.5


@dataclass(frozen=True)
class Verdict:
    """What :func:`judge` found in a block: score (>= the threshold: a small ad) and the cues behind it."""

    small_ad: bool
    score: float
    reasons: tuple[str, ...]


def normalise(text: str) -> str:
    """Full-width to ASCII (NFKC), upper case, no whitespace: what the word lists are matched against."""
    return _NORMALISE.sub("", unicodedata.normalize("NFKC", text)).upper()


def _hits(text: str, words: Sequence[str]) -> list[str]:
    return [w for w in words if normalise(w) in text]


def judge(
    lines: Sequence[str],
    phones: Sequence[Phone],
    *,
    letter: float,
    qr: bool = False,
    copies: int = 1,
    settings: JudgeSettings | None = None,
) -> Verdict:
    """Judge one block of text.

    Args:
        lines: the block's lines as read, top to bottom.
        phones: phone numbers found in them.
        letter: median line height / photo height.
        qr: a QR code lies in or right beside the block.
        copies: blocks in the photo reading the same (pasted copies of one ad).
        settings: thresholds; the defaults when None.

    Returns:
        The verdict: any legal word vetoes; a service word counts 1, a mobile number 1 (a landline 0.5), a QR code
        0.5, repeated copies 0.5, a dense small block of ``min_lines`` lines 0.5; large letters (a sign) halve it.
    """
    cfg = settings or JudgeSettings()
    text = normalise("".join(lines))
    legal = _hits(text, LEGAL_WORDS)
    if legal:
        return Verdict(False, 0.0, tuple(f"legal:{w}" for w in legal))
    reasons: list[str] = []
    score = 0.0
    words = _hits(text, SMALL_AD_WORDS)
    if words:
        score += 1.0
        reasons += [f"word:{w}" for w in words]
    if any(p.kind == "mobile" for p in phones):
        score += 1.0
        reasons.append("mobile")
    elif phones:
        score += 0.5
        reasons.append("landline")
    if qr:
        score += 0.5
        reasons.append("qr")
    if copies > 1:
        score += 0.5
        reasons.append(f"copies:{copies}")
    if len(lines) >= cfg.min_lines and letter <= cfg.max_letter:
        score += 0.5
        reasons.append(f"sheet:{len(lines)} lines")
    if letter > cfg.max_letter:
        score /= 2
        reasons.append("large letters")
    return Verdict(score >= cfg.threshold, score, tuple(reasons))
