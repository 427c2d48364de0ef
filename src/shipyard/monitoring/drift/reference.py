"""A version's reference profile, prepared once for every window compared with it.

Numeric features keep their sorted sample (with its distinct values and CDF, for KS and
Wasserstein) and its counts in the decile bins; categorical ones their value counts. Features
whose name starts with `OUTPUT_PREFIX` are the model's outputs on its training data: their drift
is *prediction* drift, reported beside the inputs and not counted in the dataset's drift share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ...schema.profile import OUTPUT_PREFIX, CategoricalProfile, NumericProfile, Profile
from .binning import decile_bins
from .result import Role
from .statistics import SortedReference, histogram

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NumericReference:
    sample: SortedReference
    bins: Floats
    """Edges from −∞ to +∞ (see `binning.decile_bins`)."""
    bin_counts: npt.NDArray[np.int64]
    missing_share: float

    @property
    def rows(self) -> int:
        return len(self.sample.values)


@dataclass(frozen=True)
class CategoricalReference:
    frequencies: dict[str, int]
    missing_share: float

    @property
    def rows(self) -> int:
        return sum(self.frequencies.values())


FeatureReference = NumericReference | CategoricalReference


@dataclass(frozen=True)
class Reference:
    """Prepared features by column name; outputs keep their prefixed name (`output:predict`), which is
    also the column name `window.current_columns` gives them, so no input can clash with one."""

    features: dict[str, FeatureReference]
    roles: dict[str, Role]

    @classmethod
    def from_profile(cls, profile: Profile) -> Reference:
        features: dict[str, FeatureReference] = {}
        roles: dict[str, Role] = {}
        for name, feature in profile.features.items():
            features[name] = _prepare(feature)
            roles[name] = "prediction" if name.startswith(OUTPUT_PREFIX) else "input"
        return cls(features, roles)

    @property
    def has_predictions(self) -> bool:
        return "prediction" in self.roles.values()


def _prepare(feature: NumericProfile | CategoricalProfile) -> FeatureReference:
    total = feature.count + feature.missing
    missing_share = feature.missing / total if total else math.nan
    if isinstance(feature, CategoricalProfile):
        return CategoricalReference(dict(feature.frequencies), missing_share)
    sample = SortedReference.of(np.sort(feature.sample))  # stored sorted; sorting a sorted array is cheap
    bins = decile_bins(feature.bin_edges)
    return NumericReference(sample, bins, histogram(sample.values, bins), missing_share)


__all__ = ["CategoricalReference", "FeatureReference", "NumericReference", "Reference"]
