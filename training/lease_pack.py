"""Pack a built dataset's train and val splits small enough to carry to a lent GPU machine.

A lent machine receives at most 64 MiB per call. A dataset built by ``gridwatch dataset build`` is several hundred
MB of full-size photos, but training at ``imgsz`` S first scales every photo so that its long side is S
(Ultralytics ``load_image``): photos stored at that size train the same network, so each photo is scaled to fit
``max_side`` and stored as WebP, and the files are dealt round-robin into ``parts`` folders, each sent with its own
call. The labels (normalised YOLO boxes) do not change with the scale. The test split is never packed: models
are judged here, on the full-size photos.

Layout of each part (merged on the machine by copying the parts into one folder)::

    part-K/images/{train,val}/NAME.webp
    part-K/labels/{train,val}/NAME.txt
    part-0/data.yaml            (the built dataset's names; no ``path``: the folder holding it is the root)
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import yaml

from domain.errors import ImageError
from vision.imageio import read_image
from vision.sources import IMAGE_SUFFIXES

SPLITS = ("train", "val")


def pack(dataset: Path, out: Path, *, parts: int, max_side: int, quality: int) -> list[int]:
    """Write ``parts`` folders under ``out`` holding the dataset's train and val photos and labels.

    Args:
        dataset: folder of a built dataset (``data.yaml``, ``images/<split>``, ``labels/<split>``).
        out: empty or missing folder.
        parts: number of folders the photos are dealt into.
        max_side: long side of the stored photos in pixels (the training ``imgsz``); smaller photos keep their size.
        quality: WebP quality, 1..100.

    Returns:
        bytes written per part.

    Raises:
        FileExistsError: ``out`` is not empty.
        ImageError: a photo cannot be read (named, with the project's decoder's reason).
        ValueError: the dataset has no photos, or a photo cannot be encoded.
    """
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    sizes = [0] * parts
    index = 0
    for split in SPLITS:
        photos = sorted(p for p in (dataset / "images" / split).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for photo in photos:
            try:
                image = read_image(photo).pixels
            except ImageError as exc:  # name the photo: a pack reads thousands
                raise ImageError(f"{photo}: {exc}") from None
            scale = max_side / max(image.shape[:2])
            if scale < 1.0:
                size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
                image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
            ok, encoded = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, quality])
            if not ok:
                raise ValueError(f"cannot encode {photo}")
            part = out / f"part-{index % parts}"
            (part / "images" / split).mkdir(parents=True, exist_ok=True)
            (part / "labels" / split).mkdir(parents=True, exist_ok=True)
            (part / "images" / split / f"{photo.stem}.webp").write_bytes(encoded.tobytes())
            label = dataset / "labels" / split / f"{photo.stem}.txt"
            text = label.read_text(encoding="utf-8") if label.is_file() else ""
            (part / "labels" / split / label.name).write_text(text, encoding="utf-8")
            sizes[index % parts] += encoded.nbytes + len(text)
            index += 1
    if index == 0:
        raise ValueError(f"no train or val photos in {dataset}")
    spec = yaml.safe_load((dataset / "data.yaml").read_text(encoding="utf-8"))
    spec.update(train="images/train", val="images/val")
    for key in ("path", "test"):
        spec.pop(key, None)
    (out / "part-0" / "data.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), "utf-8")
    return sizes


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a built dataset (gridwatch dataset build --out)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--parts", type=int, default=2)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--quality", type=int, default=80)
    args = parser.parse_args(argv)
    sizes = pack(args.dataset, args.out, parts=args.parts, max_side=args.max_side, quality=args.quality)
    for k, size in enumerate(sizes):
        print(f"part-{k}: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
