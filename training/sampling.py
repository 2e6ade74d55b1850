"""Source-balanced training lists: each source gets its due, however many photos it brought.

The built dataset's train split is dominated by one source (the Chinese bin-point set holds about a third of
it), so a plain epoch teaches mostly that source's cameras and scenes. A balanced list repeats the images of
smaller sources so that each source's share of an epoch is proportional to ``n ** alpha`` instead of ``n``:
``alpha = 1`` is the natural mix, ``alpha = 0.5`` square-root sampling, ``alpha = 0`` equal shares. Images are
only ever repeated, never dropped, so the largest source keeps every photo once per epoch.

The source of an image is the ``SOURCE__stem`` prefix the dataset builder gives every file name; synthetic
images (``synth_flyposting_*``) form a source of their own and are never repeated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from vision.sources import IMAGE_SUFFIXES

SYNTHETIC_PREFIX = "synth"


def source_of(image: Path) -> str:
    """The source of a dataset image: ``synth`` for synthetic ones, else the ``SOURCE__`` file-name prefix (or
    the stem's text before its last ``_``)."""
    stem = image.stem
    if stem.startswith(SYNTHETIC_PREFIX):
        return SYNTHETIC_PREFIX
    if "__" in stem:
        return stem.split("__", 1)[0]
    return stem.rsplit("_", 1)[0]


def repeat_factors(counts: dict[str, int], alpha: float) -> dict[str, int]:
    """Whole repeats per source so that source shares follow ``n ** alpha``.

    Args:
        counts: images per source (each >= 1).
        alpha: 0..1; the share of a source in an epoch is proportional to ``n ** alpha``.

    Returns:
        source -> repeats (>= 1); the largest real source is repeated once, synthetic sources (``synth*``)
        are never repeated, so that rendered images never outweigh real ones.

    Raises:
        ValueError: alpha outside [0, 1] or a source with no image.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if any(n < 1 for n in counts.values()):
        raise ValueError(f"every source needs at least one image: {counts}")
    n_max = max(n for s, n in counts.items() if not s.startswith(SYNTHETIC_PREFIX))
    # share_s / n_s = n_s ** (alpha - 1); scaled so the largest source is repeated exactly once.
    return {
        s: 1 if s.startswith(SYNTHETIC_PREFIX) else max(1, round((n_max / n) ** (1.0 - alpha)))
        for s, n in counts.items()
    }


def balanced_list(images: Sequence[Path], alpha: float) -> tuple[list[Path], dict[str, tuple[int, int]]]:
    """The training list with each source's images repeated by :func:`repeat_factors`.

    Args:
        images: the train split's image files.
        alpha: see :func:`repeat_factors`.

    Returns:
        (list of image paths, repeats included, in source then file order;
        source -> (images, repeats)).
    """
    by_source: dict[str, list[Path]] = {}
    for image in sorted(images):
        by_source.setdefault(source_of(image), []).append(image)
    factors = repeat_factors({s: len(v) for s, v in by_source.items()}, alpha)
    listed = [image for s, files in by_source.items() for _ in range(factors[s]) for image in files]
    return listed, {s: (len(files), factors[s]) for s, files in by_source.items()}


def write_balanced_data_yaml(data_yaml: Path, out_dir: Path, alpha: float) -> tuple[Path, str]:
    """Write a copy of a dataset's ``data.yaml`` whose train entry is a source-balanced image list.

    Args:
        data_yaml: the dataset's ``data.yaml`` (``train: images/train``, as the builder writes it).
        out_dir: where ``train-balanced.txt`` and ``data-balanced.yaml`` go (the run's folder).
        alpha: see :func:`repeat_factors`.

    Returns:
        (path of the new data.yaml; a one-line summary "source images x repeats, ..." for the log).

    Raises:
        FileNotFoundError: the dataset has no train images.
    """
    import yaml

    spec = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    root = Path(spec.get("path") or data_yaml.parent)
    train_dir = root / spec["train"]
    images = [p for p in train_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES] if train_dir.is_dir() else []
    if not images:
        raise FileNotFoundError(f"no train images in {train_dir}")
    listed, table = balanced_list(images, alpha)
    out_dir.mkdir(parents=True, exist_ok=True)
    listing = out_dir / "train-balanced.txt"
    listing.write_text("".join(f"{p.resolve()}\n" for p in listed), encoding="utf-8")
    # Val and test stay the plain folders: recipes are compared on the natural mix, per source.
    spec.update(path=str(root.resolve()), train=str(listing.resolve()))
    balanced = out_dir / "data-balanced.yaml"
    balanced.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shares = Counter({s: n * r for s, (n, r) in table.items()})
    summary = ", ".join(f"{s} {n}x{r}" for s, (n, r) in sorted(table.items(), key=lambda kv: -shares[kv[0]]))
    return balanced, summary
