"""Per-arm figures that add up across workers: request and error counts and a latency histogram.

Each worker counts what its arms answered and publishes the counts every few seconds; the canary
controller and `deploy status` sum the published counts of every worker and replica. Counts and
histograms add exactly, which averages and percentiles do not: a p99 is read off the summed
histogram. The histogram has fixed log-spaced buckets (4 per doubling, from 50 µs to ~3.5 min),
so any percentile is within ±9 % of the true value whatever the latencies are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

_BASE_SECONDS = 50e-6
_PER_DOUBLING = 4
BUCKETS = _PER_DOUBLING * 22


def bucket_of(seconds: float) -> int:
    """The bucket holding a latency: bucket i covers (base·2^((i-1)/4), base·2^(i/4)]."""
    if not seconds > _BASE_SECONDS:  # also NaN
        return 0
    return min(BUCKETS - 1, math.ceil(math.log2(seconds / _BASE_SECONDS) * _PER_DOUBLING))


def bucket_value(index: int) -> float:
    """A bucket's representative latency (its geometric middle), in seconds."""
    if index <= 0:
        return _BASE_SECONDS
    return _BASE_SECONDS * 2 ** ((index - 0.5) / _PER_DOUBLING)


@dataclass
class ArmFigures:
    """Requests, server errors and latencies of one arm over some window."""

    requests: int = 0
    errors: int = 0
    latency_sum: float = 0.0
    buckets: dict[int, int] = field(default_factory=dict)

    def add(self, seconds: float, *, error: bool) -> None:
        self.requests += 1
        self.errors += error
        self.latency_sum += seconds
        index = bucket_of(seconds)
        self.buckets[index] = self.buckets.get(index, 0) + 1

    def merge(self, other: ArmFigures) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.latency_sum += other.latency_sum
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def mean_seconds(self) -> float | None:
        return self.latency_sum / self.requests if self.requests else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile of latency in seconds (None without requests)."""
        total = sum(self.buckets.values())
        if not total:
            return None
        rank, seen = q * total, 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return bucket_value(index)
        return bucket_value(max(self.buckets))

    def buckets_json(self) -> dict[str, int]:
        return {str(i): c for i, c in sorted(self.buckets.items())}

    @classmethod
    def from_json(cls, requests: int, errors: int, latency_sum: float, buckets: dict[str, Any]) -> ArmFigures:
        return cls(requests, errors, latency_sum, {int(i): int(c) for i, c in buckets.items()})

    def summary(self, window_seconds: float | None = None) -> dict[str, Any]:
        """Requests, req/s (when given the window they came in), error rate, mean/p50/p99 latency in ms."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        rate = {"requests_per_second": round(self.requests / window_seconds, 3)} if window_seconds else {}
        return {
            "requests": self.requests,
            **rate,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "mean_ms": ms(self.mean_seconds),
            "p50_ms": ms(self.quantile(0.5)),
            "p99_ms": ms(self.quantile(0.99)),
        }


__all__ = ["BUCKETS", "ArmFigures", "bucket_of", "bucket_value"]
