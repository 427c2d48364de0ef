"""Two processes registering the same name at once get distinct, gap-free version numbers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from shipyard.config import Settings
from shipyard.registry import open_registry

_WORKER = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from shipyard.config import Settings
    from shipyard.registry import open_registry

    settings = Settings(home=sys.argv[1], db_url=sys.argv[2], user=sys.argv[3])
    registry = open_registry(settings)
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    print("ready", flush=True)
    sys.stdin.readline()  # start line: both processes begin registering together
    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda i: registry.register(model, "race", tags={"i": i}).version, range(20)))
    print(" ".join(map(str, versions)), flush=True)
    """
)


def test_two_processes_twenty_registrations_each(settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(settings.home), settings.resolved_db_url, f"user{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=240) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    numbers = sorted(int(n) for out, _ in outputs for n in out.split())
    assert numbers == list(range(1, 41))
    registry = open_registry(settings)
    assert [v.version for v in registry.list_versions("race")] == list(range(1, 41))
    assert registry.get_model("race").latest_version == 40
