"""The servers a benchmark starts: fresh databases (SQLite files, or PostgreSQL databases in a
throwaway cluster, bin/pg-test-cluster), gunicorn on a free 127.0.0.1 port, deploy/stack, and
which CPUs each may run on. Each stops what it started when its `with` block ends."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text

from bench.common import Browser
from wapshop import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Databases -----------------------------------------------------------------------------


def on_cpus(cpus: set[int] | None):
    """A preexec_fn keeping a server process (and what it forks) on `cpus`; None: all."""
    return None if cpus is None else lambda: os.sched_setaffinity(0, cpus)


def split_cpus(app_cpus: int | None) -> tuple[set[int] | None, set[int] | None]:
    """(the app servers' CPUs, everything else's) when the app servers get `app_cpus` of this
    machine's CPUs to themselves, as on their own machine; (None, None): all share all."""
    if not app_cpus:
        return None, None
    mine = sorted(os.sched_getaffinity(0))
    if not 0 < app_cpus < len(mine):
        raise SystemExit(f"--app-cpus: between 1 and {len(mine) - 1} on this machine")
    return set(mine[:app_cpus]), set(mine[app_cpus:])


class Databases:
    """Fresh, empty databases for one run: SQLite files in `workdir`, or PostgreSQL databases
    in one throwaway cluster, started on first use and stopped (and deleted) by close()."""

    def __init__(self, workdir: Path, cpus: set[int] | None = None):
        self.workdir = workdir
        self.cpus = cpus  # the CPUs the server may run on (None: all)
        self._cluster: str | None = None
        self._admin_url: str | None = None
        self._names = count(1)

    def new(self, kind: str) -> str:
        name = f"bench{next(self._names)}"
        if kind == "sqlite":
            return f"sqlite:///{self.workdir / name}.sqlite"
        if kind != "postgres":
            raise ValueError(f"unknown database kind {kind!r}")
        if self._admin_url is None:
            self._start_cluster()
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return self._admin_url.rsplit("/", 1)[0] + "/" + name

    def _start_cluster(self) -> None:
        script = ROOT / "bin" / "pg-test-cluster"
        if not script.exists():
            raise SystemExit("PostgreSQL needs bin/pg-test-cluster (and the server binaries)")
        exports = subprocess.run(
            [str(script), "start"],
            check=True,
            capture_output=True,
            text=True,
            preexec_fn=on_cpus(self.cpus),
        ).stdout
        values = dict(re.findall(r"export (\w+)=(\S+)", exports))
        self._cluster = values["WAPSHOP_PG_CLUSTER"]
        self._admin_url = values["WAPSHOP_TEST_DATABASE_URL"]

    def server_cpu(self) -> float:
        """CPU seconds (user + system) the PostgreSQL cluster's processes have used so far:
        the postmaster and every process it started (backends, writers). 0 without one."""
        if not self._cluster:
            return 0.0
        pid_file = Path(self._cluster) / "data" / "postmaster.pid"
        postmaster = pid_file.read_text().split()[0]
        used = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if entry.name == postmaster or fields[1] == postmaster:  # fields[1]: the parent
                used += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return used / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self._cluster:
            subprocess.run(
                [str(ROOT / "bin" / "pg-test-cluster"), "stop", self._cluster],
                check=False,
                capture_output=True,
            )
            self._cluster = self._admin_url = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- gunicorn ------------------------------------------------------------------------------


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py <target>` on a free 127.0.0.1 port, production settings
    (workers from WAPSHOP_WORKERS or 2 x cores + 1), the access log in a file we can count."""

    def __init__(
        self, target: str, workdir: Path, app: Flask | None = None, workers=None, cpus=None
    ):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.access_log = workdir / f"access-{port}.log"
        self.error_log = workdir / f"error-{port}.log"
        env = {
            **os.environ,
            "WAPSHOP_BIND": f"127.0.0.1:{port}",
            "WAPSHOP_ACCESS_LOG": str(self.access_log),
        }
        if workers:
            env["WAPSHOP_WORKERS"] = str(workers)
        if app is not None:
            env.update(
                WAPSHOP_DATABASE_URL=app.config["DATABASE_URL"],
                WAPSHOP_SECRET_KEY=app.config["SECRET_KEY"],
            )
        self._stderr = open(self.error_log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", target],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=on_cpus(cpus),
        )
        self._log_offset = 0
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    def _wait_until_serving(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.error_log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                status, _h, _b = Browser(self.url).get("/")
                if status < 500:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not serve within {seconds} s")

    def settle(self, quiet: float = 1.0, limit: float = 120) -> None:
        """Wait until the access log stops growing: requests a load generator left queued when
        it exited are still served, and must not count towards the next measurement."""
        deadline = time.monotonic() + limit
        size = -1
        while time.monotonic() < deadline and size != self.access_log.stat().st_size:
            size = self.access_log.stat().st_size
            time.sleep(quiet)

    def statuses(self) -> dict[int, int]:
        """Responses by status code since the last call, from the access log."""
        with open(self.access_log, "rb") as log:
            log.seek(self._log_offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._log_offset += len(complete)
        found: dict[int, int] = {}
        for code in re.findall(rb'" (\d{3}) ', complete):
            found[int(code)] = found.get(int(code), 0) + 1
        return found

    def tracebacks(self) -> int:
        return self.error_log.read_text(errors="replace").count("Traceback (most recent call")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Stack(Gunicorn):
    """deploy/stack: nginx in front of `instances` gunicorn instances (each `workers` workers)
    over the app's database, already set up. Counts statuses from nginx's access log."""

    def __init__(self, app: Flask, workdir: Path, instances: int, workers=None):
        self.dir = workdir / f"stack-{instances}"
        self.command = [sys.executable, str(ROOT / "deploy" / "stack")]
        options = ["--dir", str(self.dir), "--no-setup", "--instances", str(instances),
                   "--database-url", app.config["DATABASE_URL"]]  # fmt: skip
        if workers:
            options += ["--workers", str(workers)]
        started = subprocess.run(
            [*self.command, "start", *options], capture_output=True, text=True, timeout=300
        )
        if started.returncode:
            raise RuntimeError(f"deploy/stack did not start:\n{started.stdout}{started.stderr}")
        self.url = started.stdout.splitlines()[-1]
        self.access_log = self.dir / "nginx-access.log"
        self._log_offset = 0

    def tracebacks(self) -> int:
        return sum(
            log.read_text(errors="replace").count("Traceback (most recent call")
            for log in self.dir.glob("instance-*.log")
        )

    def stop(self) -> None:
        if (self.dir / "stack.json").exists():
            subprocess.run([*self.command, "stop", "--dir", str(self.dir)], capture_output=True)
