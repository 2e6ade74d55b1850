"""Training recipes: the strict, versioned settings ``gridwatch train`` hands to Ultralytics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Ultralytics augmentation knobs a recipe may set, each a fraction, probability or degrees.
AugmentKey = Literal[
    "hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "perspective",
    "flipud", "fliplr", "mosaic", "mixup", "cutmix",
]  # fmt: skip


class Recipe(BaseModel):
    """One training recipe (a YAML file in ``models/``).

    ``hours`` turns the recipe into a time budget: Ultralytics sets the epoch count after the first epoch
    so that training (and its learning-rate schedule) ends within it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str = Field(description="pretrained weights: a file name in the weights folder, or a path")
    imgsz: Annotated[int, Field(ge=64, le=1920, multiple_of=32)] = 640
    epochs: Annotated[int, Field(ge=1, le=1000)] = 100
    hours: Annotated[float, Field(gt=0, le=72)] | None = None
    batch: Annotated[int, Field(ge=1, le=512)] = 16
    device: str = Field(default="cpu", pattern=r"^(cpu|\d+(,\d+)*)$", description="cpu, or CUDA device ids")
    workers: Annotated[int, Field(ge=0, le=64)] = 2
    optimizer: Literal["auto", "SGD", "MuSGD", "Adam", "AdamW"] = "auto"
    lr0: Annotated[float, Field(gt=0, le=1)] | None = None
    cos_lr: bool = False
    warmup_epochs: Annotated[float, Field(ge=0, le=100)] | None = Field(
        default=None, description="learning-rate warm-up in epochs (Ultralytics default 3; less when epochs are long)"
    )
    close_mosaic: Annotated[int, Field(ge=0, le=1000)] = 10
    patience: Annotated[int, Field(ge=1, le=1000)] = 50
    freeze: Annotated[int, Field(ge=0, le=30)] | None = None
    threads: Annotated[int, Field(ge=1, le=256)] | None = Field(
        default=None, description="PyTorch CPU threads (default: every core)"
    )
    amp: bool = True
    cache: Literal[False, "ram", "disk"] = False
    seed: int = 0
    augment: dict[AugmentKey, Annotated[float, Field(ge=0, le=180)]] = Field(default_factory=dict)
    camera_augment: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.0, description="strength of the camera-imitating pixel transforms (training/camera_augment.py)"
    )
    source_balance: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None,
        description="each source's share of an epoch follows n ** source_balance (training/sampling.py); "
        "unset: the natural mix",
    )

    def ultralytics_args(self) -> dict[str, object]:
        """Keyword arguments for ``YOLO.train`` (everything but data, weights, output folder and augmentations)."""
        args: dict[str, object] = {
            "imgsz": self.imgsz,
            "epochs": self.epochs,
            "batch": self.batch,
            "device": self.device,
            "workers": self.workers,
            "optimizer": self.optimizer,
            "cos_lr": self.cos_lr,
            "close_mosaic": self.close_mosaic,
            "patience": self.patience,
            "amp": self.amp,
            "cache": self.cache,
            "seed": self.seed,
        }
        args.update({str(key): value for key, value in self.augment.items()})
        if self.hours is not None:
            args["time"] = self.hours
        if self.lr0 is not None:
            args["lr0"] = self.lr0
        if self.warmup_epochs is not None:
            args["warmup_epochs"] = self.warmup_epochs
        if self.freeze is not None:
            args["freeze"] = self.freeze
        return args


def load_recipe(path: Path) -> Recipe:
    """Read and validate a recipe file.

    Raises:
        ValueError: unreadable YAML or an invalid recipe, naming the file and the field.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read recipe {path}: {exc}") from None
    try:
        return Recipe.model_validate(raw or {})
    except ValidationError as exc:
        raise ValueError(f"invalid recipe {path}:\n{exc}") from None
