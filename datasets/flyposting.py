"""Synthetic flyposting (小广告): Chinese small ads and posters composited onto real walls and doors.

No real labelled photos of pasted small ads exist in ``shared/data``, so the ``poster`` label is learnt from
synthetic images. Each ad is rendered from a template (service + phone number, as they appear on Chinese
walls: 办证, 开锁, 疏通管道, 招租 ...) in a CJK font, on coloured paper with texture, then weathered (fading,
wrinkles, torn edges, missing corners), warped in perspective, relit by the wall it lands on and blended in.
Ads are pasted alone, in rows or stacked on top of each other; each box covers the visible part of one ad.

Synthetic images are training data only: :func:`datasets.build.build_dataset` writes them to the train split,
from train-split backgrounds, and the dataset card counts them apart from real photos.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from domain.errors import ImageError

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
_CJK_FONT_HINTS = ("cjk", "wqy", "han", "hei", "song", "kai", "ming", "fang", "droidsansfallback")
FONT_HELP = (
    "install a CJK font (Debian: apt-get install fonts-noto-cjk fonts-wqy-microhei) or point "
    "GRIDWATCH_FONTS at a folder of .ttf/.ttc/.otf fonts with Chinese glyphs"
)

# (headline, body lines): the trades that paste most small ads in Chinese residential areas.
AD_TEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("办证", ("办证刻章", "各类证件 学历认证", "诚信办理 保密")),
    ("开锁", ("专业开锁换锁", "24小时上门服务", "公安备案")),
    ("疏通管道", ("马桶 下水道 地漏", "化粪池清理", "快速上门 不通不收费")),
    ("招租", ("门面招租", "一楼临街 面积80平", "有意者电话联系")),
    (
        "房屋出租",
        (
            "一室一厅 拎包入住",
            "押一付三 价格面议",
        ),
    ),
    ("高价回收", ("空调 电脑 旧家电", "烟酒 购物卡", "上门回收 现金结算")),
    ("贷款", ("无抵押信用贷款", "当天放款 低息", "手续简单")),
    ("搬家", ("搬家公司 长短途搬运", "钢琴 家具拆装", "价格优惠")),
    ("家教辅导", ("小学 初中 高中", "一对一上门辅导", "名师授课")),
    ("招聘", ("招普工 日结", "包吃包住 月薪八千", "急招")),
    ("家电维修", ("空调加氟 移机", "热水器 洗衣机 冰箱", "维修 清洗")),
    (
        "专业防水",
        (
            "卫生间 屋顶 外墙补漏",
            "不漏水再付款",
        ),
    ),
    (
        "通下水道",
        (
            "疏通 打孔 安装",
            "全市上门",
        ),
    ),
    ("代开发票", ("正规发票 验证后付款",)),
)
PAPER_COLOURS: tuple[tuple[int, int, int], ...] = (  # BGR
    (245, 245, 245),
    (238, 242, 246),
    (150, 235, 255),
    (90, 220, 255),
    (200, 190, 255),
    (180, 200, 255),
    (255, 225, 185),
    (190, 245, 200),
    (60, 60, 225),
    (230, 230, 230),
)
INK_COLOURS: tuple[tuple[int, int, int], ...] = ((20, 20, 20), (30, 30, 200), (160, 60, 20), (20, 20, 120))


@dataclass(frozen=True)
class Background:
    """A real photo to paste ads on.

    Attributes:
        image: path of the photo.
        avoid: (K, 4) float32 normalised xyxy regions where no ad may be pasted (windows, signboards).
    """

    image: Path
    avoid: F32


def find_cjk_fonts(extra_dirs: Iterable[Path] = ()) -> list[Path]:
    """Font files that render Chinese, from ``GRIDWATCH_FONTS``, ``extra_dirs`` and the system font folders.

    Raises:
        ValueError: when none is found, saying how to install one.
    """
    env = os.environ.get("GRIDWATCH_FONTS")
    dirs = [Path(env)] if env else []
    dirs += [*extra_dirs, *FONT_DIRS]
    found: list[Path] = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in {".ttf", ".ttc", ".otf"}:
                continue
            if not env and not any(h in path.name.lower() for h in _CJK_FONT_HINTS):
                continue
            if path not in found and _renders_chinese(path):
                found.append(path)
    if not found:
        raise ValueError(f"no font with Chinese glyphs found in {', '.join(map(str, dirs))}: {FONT_HELP}")
    return found


def _renders_chinese(path: Path) -> bool:
    try:
        font = ImageFont.truetype(str(path), 32)
    except OSError:
        return False
    # A font without the glyphs draws the same .notdef box for every missing character.
    masks = [np.asarray(font.getmask(ch)) for ch in ("办", "锁")]
    return all(m.size and m.any() for m in masks) and not (
        masks[0].shape == masks[1].shape and np.array_equal(masks[0], masks[1])
    )


def phone_number(rng: np.random.Generator) -> str:
    """A mobile number as printed on small ads: 11 digits starting 13-19, often spaced 3-4-4."""
    digits = "1" + str(rng.integers(3, 10)) + "".join(str(d) for d in rng.integers(0, 10, 9))
    if rng.random() < 0.5:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return digits


def _font(fonts: Sequence[Path], rng: np.random.Generator, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), max(8, size))


def render_ad(rng: np.random.Generator, fonts: Sequence[Path], height: int = 160) -> U8:
    """One small ad or poster as a (H, W, 4) uint8 BGRA image; alpha 0 outside the paper.

    Layouts: a slip (wide, 1-2 lines with the phone number), a sticker (near-square) or a poster
    (portrait, headline, body lines, phone number at the bottom). ``height`` is the rendering size in
    pixels; the ad is scaled when pasted.
    """
    headline, body = AD_TEXTS[int(rng.integers(len(AD_TEXTS)))]
    layout = rng.choice(["slip", "sticker", "poster"], p=[0.45, 0.2, 0.35])
    aspect = {"slip": rng.uniform(2.2, 4.5), "sticker": rng.uniform(0.8, 1.4), "poster": rng.uniform(0.62, 0.8)}[
        str(layout)
    ]
    h = height if layout != "poster" else int(height * 1.6)
    w = int(h * aspect)
    paper = PAPER_COLOURS[int(rng.integers(len(PAPER_COLOURS)))]
    dark_paper = sum(paper) < 400
    ink = (245, 245, 245) if dark_paper else INK_COLOURS[int(rng.integers(len(INK_COLOURS)))]
    canvas = Image.new("RGB", (w, h), paper[::-1])
    draw = ImageDraw.Draw(canvas)
    phone = phone_number(rng)
    lines: list[tuple[str, float]]  # text, relative size
    band_ink: tuple[int, int, int] | None = None
    if layout == "slip":
        lines = [(headline if rng.random() < 0.6 else body[0], 1.0), (phone, 0.8)]
    elif layout == "sticker":
        lines = [(headline, 1.0), (body[0], 0.55), (phone, 0.6)]
    else:
        n_body = int(rng.integers(1, len(body) + 1))
        lines = [(headline, 1.0), *[(line, 0.45) for line in body[:n_body]], (phone, 0.55)]
        if rng.random() < 0.5:  # coloured headline band, white headline on it
            band = INK_COLOURS[int(rng.integers(len(INK_COLOURS)))]
            draw.rectangle((0, 0, w, int(h * 0.28)), fill=band[::-1])
            band_ink = (255, 255, 255)
    margin = int(0.07 * w)
    total_rel = sum(r for _, r in lines)
    y = int(0.06 * h)
    for i, (text, rel) in enumerate(lines):
        slot = (h - 2 * int(0.06 * h)) * rel / total_rel
        size = int(slot * 0.8)
        font = _font(fonts, rng, size)
        # Shrink until the line fits the paper width.
        while size > 8 and font.getlength(text) > w - 2 * margin:
            size = int(size * 0.9)
            font = _font(fonts, rng, size)
        colour = band_ink if i == 0 and band_ink is not None else ink
        x = (w - font.getlength(text)) / 2 + rng.uniform(-0.03, 0.03) * w
        draw.text((x, y + (slot - size) / 2), text, font=font, fill=colour[::-1])
        y += int(slot)
    if rng.random() < 0.5:  # printed border
        draw.rectangle((3, 3, w - 4, h - 4), outline=ink[::-1], width=max(1, h // 60))
    bgr = np.asarray(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR), np.uint8)
    return _weather(bgr, rng)


def _weather(bgr: U8, rng: np.random.Generator) -> U8:
    """Paper texture, fading, wrinkles and torn edges; returns BGRA."""
    h, w = bgr.shape[:2]
    img = bgr.astype(np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
    img += grain[..., None] * rng.uniform(3, 10)
    fade = rng.uniform(0.0, 0.45)  # sun-bleached ink and paper drift towards pale grey-yellow
    img = img * (1 - fade) + np.array([200, 220, 225], np.float32) * fade
    # Wrinkles: smooth random displacement plus shading along the folds.
    field = [
        cv2.resize(rng.normal(0, 1, (6, 6)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC) for _ in range(2)
    ]
    amp = rng.uniform(0, 0.012) * min(h, w)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    img = np.asarray(
        cv2.remap(img, gx + field[0] * amp, gy + field[1] * amp, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT),
        np.float32,
    )
    img *= (1 + 0.06 * field[0] * rng.uniform(0, 1))[..., None]
    alpha = _torn_mask(h, w, rng)
    out = np.dstack((np.clip(img, 0, 255), alpha))
    return out.astype(np.uint8)


def _torn_mask(h: int, w: int, rng: np.random.Generator) -> U8:
    """Alpha of a paper sheet with jagged edges and, sometimes, torn-off corners and strips."""
    n = 24
    t = np.linspace(0, 1, n, endpoint=False, dtype=np.float32)
    jitter = max(1.0, 0.012 * min(h, w))
    edges = [
        np.stack((t * w, np.zeros(n)), 1),
        np.stack((np.full(n, w - 1.0), t * h), 1),
        np.stack(((1 - t) * w, np.full(n, h - 1.0)), 1),
        np.stack((np.zeros(n), (1 - t) * h), 1),
    ]
    poly = np.concatenate(edges).astype(np.float32)
    poly += rng.normal(0, jitter, poly.shape).astype(np.float32)
    if rng.random() < 0.5:  # tear off a corner: pull its points inward along a diagonal cut
        corner = int(rng.integers(4)) * n
        cut = rng.uniform(0.15, 0.5)
        idx = (np.arange(-int(n * cut), int(n * cut)) + corner) % len(poly)
        centre = np.array([w / 2, h / 2], np.float32)
        poly[idx] = poly[idx] + (centre - poly[idx]) * rng.uniform(0.2, 0.6)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 255)
    if rng.random() < 0.25:  # a strip scraped away (half-removed ads are common)
        x0 = int(rng.uniform(0.2, 0.8) * w)
        pts = np.array([[x0, 0], [x0 + rng.uniform(0.05, 0.3) * w, 0], [x0 + rng.uniform(-0.1, 0.3) * w, h]])
        cv2.fillPoly(mask, [pts.astype(np.int32)], 0)
    return np.asarray(cv2.GaussianBlur(mask, (3, 3), 0), np.uint8)


def _quad(cx: float, cy: float, w: float, h: float, rng: np.random.Generator) -> F32:
    """Corners (4, 2) of a pasted sheet: rotated a little and skewed as a wall seen at an angle."""
    angle = np.deg2rad(rng.normal(0, 4))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float32) @ rot.T
    corners += rng.normal(0, 0.04, (4, 2)).astype(np.float32) * np.array([w, h], np.float32)
    return (corners + np.array([cx, cy], np.float32)).astype(np.float32)


def paste_ad(image: U8, ad: U8, quad: F32, rng: np.random.Generator) -> F32:
    """Blend ``ad`` (BGRA) into ``image`` (H, W, 3, modified in place) at ``quad``; returns its (H, W) coverage.

    The ad is relit by the wall: multiplied by the wall's local brightness relative to its mean (shadows
    and gradients carry over) and tinted towards the wall's colour cast, then softened to the photo's blur.
    """
    h, w = image.shape[:2]
    ah, aw = ad.shape[:2]
    src = np.array([[0, 0], [aw - 1, 0], [aw - 1, ah - 1], [0, ah - 1]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(ad, m, (w, h), flags=cv2.INTER_AREA, borderValue=(0, 0, 0, 0))
    sigma = rng.uniform(0.3, 1.2)
    warped = cv2.GaussianBlur(warped, (0, 0), sigma)
    alpha = warped[..., 3].astype(np.float32) / 255.0
    wall = image.astype(np.float32)
    lum = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32), (0, 0), 9)
    covered = alpha > 0.5
    if not covered.any():
        return alpha
    shade = lum / max(float(lum[covered].mean()), 1.0)
    shade = np.clip(shade, 0.5, 1.4) ** rng.uniform(0.4, 0.9)
    cast = wall[covered].mean(0) / max(float(wall[covered].mean()), 1.0)
    tint = 1 + (cast - 1) * rng.uniform(0.2, 0.6)
    brightness = rng.uniform(0.75, 1.05)
    paper = warped[..., :3].astype(np.float32) * shade[..., None] * tint * brightness
    a = alpha[..., None] * rng.uniform(0.85, 1.0)
    image[:] = np.clip(wall * (1 - a) + paper * a, 0, 255).astype(np.uint8)
    return alpha


def _free_spot(
    w: float, h: float, size: tuple[int, int], avoid_px: F32, rng: np.random.Generator, tries: int = 30
) -> tuple[float, float] | None:
    """A centre for a w x h sheet inside the photo that overlaps no avoid box by more than 10 % of the sheet."""
    width, height = size
    for _ in range(tries):
        cx = rng.uniform(w / 2 + 2, width - w / 2 - 2)
        # Small ads are pasted within reach: mostly the lower half of a street photo.
        cy = rng.uniform(max(h / 2 + 2, 0.35 * height), height - h / 2 - 2)
        box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)
        if len(avoid_px):
            ix = np.clip(np.minimum(box[2], avoid_px[:, 2]) - np.maximum(box[0], avoid_px[:, 0]), 0, None)
            iy = np.clip(np.minimum(box[3], avoid_px[:, 3]) - np.maximum(box[1], avoid_px[:, 1]), 0, None)
            if (ix * iy).max() > 0.1 * w * h:
                continue
        return cx, cy
    return None


def compose(image: U8, avoid: F32, fonts: Sequence[Path], rng: np.random.Generator, min_visible: float = 0.35) -> F32:
    """Paste 1-8 ads on ``image`` (H, W, 3 BGR, modified in place); returns their visible boxes (M, 4) xyxy px.

    Ads come alone, in a row or stacked (later ones over earlier ones); an ad whose visible part is less
    than ``min_visible`` of its own area gets no box, and a box covers only the visible part.
    """
    height, width = image.shape[:2]
    avoid_px = avoid * np.array([width, height, width, height], np.float32)
    coverages: list[F32] = []
    n_groups = int(rng.integers(1, 4))
    for _ in range(n_groups):
        ad = render_ad(rng, fonts)
        # Sheet width 3-22 % of the photo width: slips at arm's length to posters across the street.
        scale = rng.uniform(0.03, 0.22) * width / ad.shape[1]
        sw, sh = ad.shape[1] * scale, ad.shape[0] * scale
        if sh > 0.6 * height:
            continue
        spot = _free_spot(sw, sh, (width, height), avoid_px, rng)
        if spot is None:
            continue
        pattern = rng.choice(["single", "row", "stack"], p=[0.5, 0.2, 0.3])
        count = 1 if pattern == "single" else int(rng.integers(2, 5))
        for k in range(count):
            if k:
                ad = render_ad(rng, fonts)
                sw, sh = ad.shape[1] * scale, ad.shape[0] * scale
            if pattern == "row":
                cx, cy = spot[0] + k * sw * rng.uniform(1.05, 1.4), spot[1] + rng.normal(0, 0.1) * sh
            else:
                cx, cy = spot[0] + rng.normal(0, 0.35) * sw * (k > 0), spot[1] + rng.normal(0, 0.35) * sh * (k > 0)
            if not (sw / 2 < cx < width - sw / 2 and sh / 2 < cy < height - sh / 2):
                continue
            alpha = paste_ad(image, ad, _quad(cx, cy, sw, sh, rng), rng)
            # A new sheet hides the part of every earlier one underneath it.
            coverages = [c * (1 - alpha) for c in coverages]
            coverages.append(alpha)
    boxes = []
    for cov in coverages:
        total = float((cov > 0).sum())
        visible = cov > 0.5
        if total == 0 or visible.sum() < min_visible * total:
            continue
        ys, xs = np.nonzero(visible)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.array(boxes, np.float32).reshape(-1, 4)


def synthesize(background: Background, fonts: Sequence[Path], rng: np.random.Generator) -> tuple[U8, F32]:
    """A synthetic flyposting photo from ``background``: BGR pixels and poster boxes (M, 4) xyxy px.

    Raises:
        ImageError: the background cannot be read.
    """
    raw = cv2.imread(str(background.image), cv2.IMREAD_COLOR)
    if raw is None:
        raise ImageError(f"{background.image}: cannot read background")
    pixels: U8 = np.asarray(raw, np.uint8)
    boxes = compose(pixels, background.avoid, fonts, rng)
    return pixels, boxes


def read_avoid_boxes(label_file: Path, classes: frozenset[int]) -> F32:
    """Normalised xyxy (K, 4) of the YOLO boxes of ``classes`` in ``label_file`` (none if it is missing)."""
    if not label_file.is_file():
        return np.zeros((0, 4), np.float32)
    rows = [line.split() for line in label_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    xywh = np.array([[float(v) for v in r[1:5]] for r in rows if int(r[0]) in classes], np.float32).reshape(-1, 4)
    return np.concatenate((xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2), axis=1)
