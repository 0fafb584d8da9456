"""gunicorn.conf.py, the production server's settings: its worker count follows the CPUs the
server may run on (a container's or `taskset`'s share), not the machine's."""

import os
import subprocess
import sys

from wapshop import ROOT

WORKERS = "import runpy; print(runpy.run_path('gunicorn.conf.py')['workers'])"


def workers(cpus: set[int], **env) -> int:
    """The worker count gunicorn.conf.py gives a process allowed on `cpus`."""
    out = subprocess.run(
        [sys.executable, "-c", WORKERS],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "WAPSHOP_WORKERS"} | env,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def test_workers_are_two_per_cpu_it_may_use_plus_one():
    mine = sorted(os.sched_getaffinity(0))
    assert workers({mine[0]}) == 3
    assert workers(set(mine)) == 2 * len(mine) + 1


def test_the_environment_sets_the_workers():
    assert workers(os.sched_getaffinity(0), WAPSHOP_WORKERS="7") == 7
