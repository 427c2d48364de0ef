"""The memory limit of a worker process (`server.worker_memory_mb`), so that one model allocating
without bound fails its own request instead of taking the worker, or the machine, down with it.

The limit is `RLIMIT_DATA`: past it, the kernel refuses the allocation (malloc and anonymous mmap
return an error), numpy or Python raise `MemoryError` in the thread that asked — the model's —
and the batcher fails that batch's requests alone. The memory the failed call had gathered is
freed as its frames unwind, and the worker goes on.

Why `RLIMIT_DATA` and not `RLIMIT_AS`: the address-space limit counts every mapping, and a worker
maps far more than it uses — shared libraries' code (onnxruntime and torch are hundreds of MB),
8 MB of stack reserved per thread, 64 MB malloc arenas per thread reserved before use — so a
useful `RLIMIT_AS` has to be set so far above the real need that it stops nothing in time.
`RLIMIT_DATA` counts private writable memory only (heap, anonymous mmaps: where arrays live), the
part that grows when a model allocates. Linux enforces it on mmap since 4.7; macOS accepts the
setting but does not enforce it for mmap.

Caveats: it limits what is mapped, not what is resident, so memory reserved but never touched
counts too; and near the limit an allocation by anything else in the worker can fail as well (the
event loop, another model), which makes that request fail too. Set it with headroom above what the
worker uses with its models loaded (`/debug/batching` lists each model's memory; `VmData` in
`/proc/<pid>/status` is what is counted). The OOM killer remains the last resort for the machine.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ..errors import ConfigError

logger = logging.getLogger(__name__)

_SETTING = "SHIPYARD_SERVER__WORKER_MEMORY_MB"


def data_bytes() -> int | None:
    """This process's `VmData` (what RLIMIT_DATA counts) in bytes; None where /proc does not tell."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def limit_worker_memory(megabytes: int) -> None:
    """Cap this process's private writable memory at `megabytes` (0: leave it alone).

    Raises ConfigError when the worker already uses more than that: every allocation would fail.
    """
    if megabytes <= 0:
        return
    import resource

    limit = megabytes * 2**20
    used = data_bytes()
    if used is not None and used >= limit:
        raise ConfigError(
            _SETTING,
            f"{megabytes} MB is less than this worker uses before loading any model ({used // 2**20} MB); "
            "give it the memory its models need on top of that",
        )
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY and limit > hard:
        logger.warning("worker memory limit lowered from %d MB to the hard limit, %d MB", megabytes, hard // 2**20)
        limit = hard
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    if not sys.platform.startswith("linux"):
        logger.warning("%s is set, but only Linux enforces RLIMIT_DATA on large allocations (mmap)", _SETTING)


__all__ = ["data_bytes", "limit_worker_memory"]
