"""The `Detections` value type: one image's boxes as parallel numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Detections:
    """Boxes found in one image.

    Attributes:
        xyxy: (N, 4) float32, corners x1, y1, x2, y2 in source-image pixels.
        score: (N,) float32 confidence in [0, 1].
        class_id: (N,) int32 index into ``names``.
        names: class names of the model that produced the boxes, indexed by ``class_id``.
    """

    xyxy: FloatArray
    score: FloatArray
    class_id: IntArray
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        score = np.asarray(self.score, dtype=np.float32).reshape(-1)
        class_id = np.asarray(self.class_id, dtype=np.int32).reshape(-1)
        n = len(xyxy)
        if len(score) != n or len(class_id) != n:
            raise ValueError(
                f"parallel arrays differ in length: xyxy {n}, score {len(score)}, class_id {len(class_id)}"
            )
        if n and self.names and (class_id.min() < 0 or class_id.max() >= len(self.names)):
            raise ValueError(f"class_id out of range for {len(self.names)} class names")
        # frozen dataclass: normalised arrays are set through object.__setattr__
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "names", tuple(self.names))

    @classmethod
    def empty(cls, names: Sequence[str] = ()) -> Detections:
        """No boxes, with the given class names."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), tuple(names))

    @classmethod
    def merge(cls, parts: Sequence[Detections]) -> Detections:
        """Concatenate detections of one image that share class names (e.g. from tiles)."""
        if not parts:
            return cls.empty()
        names = parts[0].names
        if any(p.names != names for p in parts[1:]):
            raise ValueError("cannot merge detections with different class names")
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.score for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            names,
        )

    def __len__(self) -> int:
        return len(self.score)

    def __getitem__(self, index: BoolArray | IntArray | slice | int) -> Detections:
        """Select boxes with a boolean mask, index array, slice or single index."""
        if isinstance(index, (int, np.integer)):
            index = np.array([index])
        return Detections(self.xyxy[index], self.score[index], self.class_id[index], self.names)

    @property
    def labels(self) -> list[str]:
        """Class name of each box, (N,)."""
        return [self.names[i] for i in self.class_id.tolist()]

    @property
    def area(self) -> FloatArray:
        """Box areas in square pixels, (N,)."""
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        return np.asarray(wh[:, 0] * wh[:, 1], dtype=np.float32)

    def filter(
        self,
        *,
        min_score: float | FloatArray | None = None,
        labels: Sequence[str] | None = None,
    ) -> Detections:
        """Keep boxes scoring at least ``min_score`` (a scalar or a per-class (C,) array)
        and, if given, whose label is in ``labels``."""
        keep = np.ones(len(self), dtype=bool)
        if min_score is not None:
            thresholds = np.asarray(min_score, dtype=np.float32)
            keep &= self.score >= (thresholds[self.class_id] if thresholds.ndim else thresholds)
        if labels is not None:
            unknown = set(labels) - set(self.names)
            if unknown:
                raise ValueError(f"unknown labels {sorted(unknown)}; model has {list(self.names)}")
            wanted = np.array([name in labels for name in self.names], dtype=bool)
            keep &= wanted[self.class_id]
        return self[keep]
