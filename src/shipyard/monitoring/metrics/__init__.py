"""Prometheus metrics of the server: what is counted (`catalog`), by whom (`worker`), shared how
(`multiproc`), shown how (`exposition`), and the per-minute figures the alert rules read (`traffic`).

Import the submodules themselves: `worker`, `exposition`, `publisher` and `sampler` import
prometheus_client, which must come after `PROMETHEUS_MULTIPROC_DIR` is set (`multiproc.use_run_dir`),
so nothing here imports them on the package's import.
"""

from __future__ import annotations

__all__: list[str] = []
