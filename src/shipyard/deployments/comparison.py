"""How a shadow arm's answers compare with the primary's, as sums that add up across workers.

Outputs of a label kind (integers, booleans, strings: what `predict` of a classifier returns) are
compared for equality, giving an agreement rate; floating-point outputs (scores, probabilities,
regression values) by absolute difference, giving the mean and the largest. Only outputs both
answered are compared; cells that are NaN on either side are left out of the differences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class Comparison:
    pairs: int = 0
    """Copies answered by both the primary and the shadow arm."""
    labels: int = 0
    agreed: int = 0
    scores: int = 0
    diff_sum: float = 0.0
    diff_max: float = 0.0
    dropped: int = 0
    """Copies never answered: the shadow queue was full, or the shadow version was still loading."""

    def merge(self, other: Comparison) -> None:
        self.pairs += other.pairs
        self.labels += other.labels
        self.agreed += other.agreed
        self.scores += other.scores
        self.diff_sum += other.diff_sum
        self.diff_max = max(self.diff_max, other.diff_max)
        self.dropped += other.dropped

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.labels if self.labels else None

    @property
    def mean_abs_diff(self) -> float | None:
        return self.diff_sum / self.scores if self.scores else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Comparison:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in (data or {}).items() if k in fields})

    def summary(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "agreement": self.agreement,
            "mean_abs_diff": self.mean_abs_diff,
            "max_abs_diff": self.diff_max if self.scores else None,
            "dropped": self.dropped,
        }


def _is_score(array: np.ndarray[Any, Any]) -> bool:
    return array.dtype.kind in ("f", "c")


def compare_outputs(primary: Mapping[str, Any], shadow: Mapping[str, Any]) -> Comparison:
    """One pair of answers (output name → array) compared output by output."""
    result = Comparison(pairs=1)
    for name in primary.keys() & shadow.keys():
        a, b = np.asarray(primary[name]), np.asarray(shadow[name])
        if _is_score(a) and _is_score(b):
            if a.shape != b.shape:
                continue  # not comparable cell by cell (e.g. a different number of classes)
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
            diff = diff[np.isfinite(diff)]
            result.scores += diff.size
            result.diff_sum += float(diff.sum())
            result.diff_max = max(result.diff_max, float(diff.max())) if diff.size else result.diff_max
        else:
            if a.shape != b.shape:
                result.labels += a.size  # different shapes: every label disagrees
                continue
            result.labels += a.size
            result.agreed += int(np.count_nonzero(a == b))
    return result


__all__ = ["Comparison", "compare_outputs"]
