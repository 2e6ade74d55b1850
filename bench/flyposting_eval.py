"""Flyposting on real photos: the detector alone vs the detector with the text finder, on a reviewed poster set.

For each image of ``datasets/reviewed/posters-SPLIT.json`` (every val or test image of the built dataset,
reviewed by eye) the detector runs at its shipped thresholds and the text finder reads the photo; posters are
the detector's ``poster`` boxes, then those joined with the blocks judged small ads (:func:`join_posters`, the
pipeline's own merge). A poster box at least half inside a reviewed ``ignore`` region counts for nothing.

- **recall**: photos with reviewed poster boxes on which a poster box overlaps one of them (IoU >= 0.1, or half
  of either box inside the other);
- **false alarms**: photos without poster boxes that get one, over all of them and over those tagged
  ``legal_text`` (shop signs, notices, bin labels, traffic signs: text that must not be flagged).

Reading is the slow part, so ``--ocr-cache FILE`` keeps each photo's OCR lines and QR codes (read once, then
judged again with the current rules: how the rules were tuned on val).

    .venv/bin/python -m bench.flyposting_eval --dataset data/datasets/gridwatch --split val \
        --ocr-cache /tmp/ocr-val.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from training.reviewed import IGNORE_INSIDE, inside_fraction, load_reviewed
from vision.boxes import box_cover, box_iou
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import read_image
from vision.ocr import PosterReader, TextLine
from vision.pipeline import join_posters
from vision.textfinder import POSTER, find_qr, judge_blocks

HIT_IOU, HIT_COVER = 0.1, 0.5


def _read(
    reader: PosterReader, pixels: npt.NDArray[np.uint8], cache: dict[str, Any], name: str
) -> tuple[list[TextLine], npt.NDArray[np.float64], float]:
    """(lines, (Q, 4) QR boxes, seconds to read) of one image, from the cache when it has them."""
    entry = cache.get(name)
    if not isinstance(entry, dict):
        start = time.perf_counter()
        lines = reader.read(pixels)
        qr = find_qr(pixels).tolist()
        entry = {"lines": [[line.points, line.text, line.score] for line in lines], "qr": qr}
        entry["seconds"] = time.perf_counter() - start
        cache[name] = entry
    lines = [
        TextLine(tuple((float(x), float(y)) for x, y in p), str(t), float(s))
        for p, t, s in entry["lines"]
        if s >= reader.min_score
    ]
    qr = np.asarray(entry["qr"], np.float64)
    # a cache may hold each QR code's four corners (Q, 4, 2) rather than its box
    qr_boxes = np.concatenate([qr.min(axis=1), qr.max(axis=1)], axis=1) if qr.ndim == 3 else qr.reshape(-1, 4)
    return lines, qr_boxes, float(entry.get("seconds", entry.get("t_ocr", 0.0)))


def _posters(det: Detections, ignore: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(P, 4) poster boxes of ``det`` not mostly inside an ignore region."""
    boxes = det.xyxy[np.array([lab == POSTER for lab in det.labels], dtype=bool)].astype(np.float64)
    return np.asarray(boxes[inside_fraction(boxes, ignore) < IGNORE_INSIDE], np.float64)


def _hit(pred: npt.NDArray[np.float64], gt: npt.NDArray[np.float64]) -> bool:
    if not len(pred) or not len(gt):
        return False
    iou = box_iou(pred, gt)
    cover = np.maximum(box_cover(pred, gt), box_cover(gt, pred).T)
    return bool(((iou >= HIT_IOU) | (cover >= HIT_COVER)).any())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--reviewed", type=Path, help="default: datasets/reviewed/posters-SPLIT.json")
    ap.add_argument("--model", type=Path, default=Path("models/gridwatch-yolo26n.onnx"))
    ap.add_argument("--ocr-cache", type=Path)
    ap.add_argument("--json", type=Path, help="write the figures and every flagged photo here")
    ap.add_argument(
        "--sources",
        nargs="+",
        help="only photos of these sources, plus every photo with posters (a subset, when reading all takes too long)",
    )
    args = ap.parse_args()
    reviewed = load_reviewed(args.reviewed or Path(f"datasets/reviewed/posters-{args.split}.json"))
    if reviewed.split != args.split:
        raise SystemExit(f"the reviewed file covers {reviewed.split}, not {args.split}")
    detector = Detector(args.model, providers="cpu", model_thresholds=True, threads=1)
    reader = PosterReader(threads=1)
    cache: dict[str, Any] = (
        json.loads(args.ocr_cache.read_text(encoding="utf-8")) if args.ocr_cache and args.ocr_cache.is_file() else {}
    )
    rows: list[dict[str, Any]] = []
    read_seconds, detect_seconds = [], []
    for name, image in sorted(reviewed.images.items()):
        if args.sources and not image.boxes and name.split("__", 1)[0] not in args.sources:
            continue
        photo = read_image(args.dataset / "images" / args.split / name)
        start = time.perf_counter()
        det = detector.detect([photo])[0]
        detect_seconds.append(time.perf_counter() - start)
        lines, qr, seconds = _read(reader, photo.pixels, cache, name)
        read_seconds.append(seconds)
        blocks = judge_blocks(lines, qr, photo.pixels.shape[0])
        joined = join_posters(det, blocks, (photo.width, photo.height))
        gt = np.array([b[1:] for b in image.boxes], np.float64).reshape(-1, 4)
        ignore = np.array(image.ignore, np.float64).reshape(-1, 4)
        alone, both = _posters(det, ignore), _posters(joined, ignore)
        rows.append(
            {
                "image": name,
                "positive": bool(len(gt)),
                "legal_text": "legal_text" in image.tags,
                "detector": {"flagged": bool(len(alone)), "hit": _hit(alone, gt)},
                "with_text": {"flagged": bool(len(both)), "hit": _hit(both, gt)},
                "ads": [
                    {"text": b.text, "phones": [p.number for p in b.phones], "reasons": list(b.verdict.reasons)}
                    for b in blocks
                    if b.verdict.small_ad
                ],
            }
        )
    if args.ocr_cache:
        args.ocr_cache.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
    figures: dict[str, dict[str, Any]] = {}
    for way in ("detector", "with_text"):
        pos = [r for r in rows if r["positive"]]
        neg = [r for r in rows if not r["positive"]]
        legal = [r for r in neg if r["legal_text"]]
        figures[way] = {
            "recall": f"{sum(r[way]['hit'] for r in pos)}/{len(pos)}",
            "false_alarms": f"{sum(r[way]['flagged'] for r in neg)}/{len(neg)}",
            "false_alarms_legal_text": f"{sum(r[way]['flagged'] for r in legal)}/{len(legal)}",
        }
    figures["seconds_per_photo"] = {
        "detect_median": round(statistics.median(detect_seconds), 3),
        "read_median": round(statistics.median(read_seconds), 3),
    }
    print(json.dumps(figures, indent=1))
    for r in rows:
        if r["with_text"]["flagged"] != r["detector"]["flagged"] or r["ads"]:
            print(("POS " if r["positive"] else "neg ") + r["image"], r["ads"])
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "images": rows}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
