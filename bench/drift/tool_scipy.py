"""A plain scipy pass, as one would write it: pandas reads both files, then per numeric column
`ks_2samp`, PSI over the reference deciles (`np.histogram`) and `wasserstein_distance`; per
categorical column `chi2_contingency` and `jensenshannon`. Flags: KS or chi-square p < 0.05.

    python tool_scipy.py REFERENCE.parquet CURRENT.parquet
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from child import finish, start
from scipy import stats
from scipy.spatial.distance import jensenshannon


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    edges = np.quantile(reference, np.linspace(0, 1, 11))
    edges[0], edges[-1] = -np.inf, np.inf
    r = np.histogram(reference, edges)[0] / len(reference)
    c = np.histogram(current, edges)[0] / len(current)
    r, c = np.where(r == 0, 1e-4, r), np.where(c == 0, 1e-4, c)
    return float(np.sum((c - r) * np.log(c / r)))


def main(reference_path: str, current_path: str) -> None:
    started = start()
    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    flagged, figures = [], {}
    for column in reference.columns:
        if column.startswith("num_"):
            r, c = reference[column].dropna().to_numpy(), current[column].dropna().to_numpy()
            ks = stats.ks_2samp(r, c)
            figures[column] = {
                "ks_pvalue": float(ks.pvalue),
                "psi": psi(r, c),
                "wasserstein": stats.wasserstein_distance(r, c),
            }
            p_value = ks.pvalue
        else:
            counts = pd.concat([reference[column].value_counts(), current[column].value_counts()], axis=1).fillna(0)
            chi = stats.chi2_contingency(counts.to_numpy().T)
            figures[column] = {
                "chisquare_pvalue": float(chi.pvalue),
                "jensenshannon": float(jensenshannon(*counts.to_numpy().T)),
            }
            p_value = chi.pvalue
        if p_value < 0.05:
            flagged.append(column)
    finish("scipy", started, flagged, statistics=figures)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
