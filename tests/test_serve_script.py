"""bin/serve as a newcomer runs it: in a copy of the project with nothing set up but the
virtualenv, it sets up, prints the URL last, and Ctrl-C or SIGTERM stops every process it
started; a second start reuses what the first installed."""

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import _free_port
from wapshop import ROOT
from wapshop.clock import china_day, utcnow

pytestmark = pytest.mark.server

COPIED = ("bin", "wapshop", "templates", "static", "migrations")
COPIED_FILES = ("wsgi.py", "gunicorn.conf.py", "requirements.txt", "requirements-dev.txt")


@pytest.fixture
def project(tmp_path):
    """A copy of the project beside the real virtualenv (bin/test has installed it)."""
    for name in COPIED:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in COPIED_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    # A symlink cannot be made into a virtualenv: bin/serve fails if it tries to reinstall.
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    assert (ROOT / ".venv" / ".installed-requirements.txt").exists(), "run bin/test first"
    yield tmp_path
    for pid in processes_in(tmp_path):  # only after a failure
        os.kill(pid, signal.SIGKILL)


def processes_in(folder: Path) -> list[int]:
    """Pids of processes whose working directory is inside folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd == str(folder) or cwd.startswith(f"{folder}/"):
                found.append(int(entry.name))
    return found


def start(project, port):
    env = {**os.environ, "WAPSHOP_BIND": f"127.0.0.1:{port}"}
    env.pop("WAPSHOP_DATABASE_URL", None)
    process = subprocess.Popen(
        ["bin/serve"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    lines = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline().decode()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("WapShop is at"):
            return process, lines
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    pytest.fail("bin/serve printed no URL:\n" + "\n".join(lines))


def stop(process, sig, group: bool):
    if group:
        os.killpg(process.pid, sig)  # Ctrl-C: the terminal signals the whole group
    else:
        process.send_signal(sig)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("bin/serve did not stop within 30 s")
    process.stdout.close()


def wait_until_gone(project):
    deadline = time.monotonic() + 20
    while processes_in(project) and time.monotonic() < deadline:
        time.sleep(0.2)
    return processes_in(project)


def assert_thirty_days_of_orders(project):
    """The demo's history fills the daily report (the same table as /admin/reports/daily)."""
    today = china_day(utcnow())
    env = {k: v for k, v in os.environ.items() if k != "WAPSHOP_DATABASE_URL"}
    printed = subprocess.run(
        [".venv/bin/flask", "--app", "wapshop", "reports", "daily", "--csv",
         "--from", (today - timedelta(days=30)).isoformat(),
         "--to", (today - timedelta(days=1)).isoformat()],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(printed.stdout.lstrip("\ufeff"))))
    days = [row for row in rows if re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[0])]
    assert len(days) == 30, printed.stdout
    assert sum(1 for row in days if int(row[1])) >= 27, printed.stdout


def test_serve_sets_up_prints_url_last_and_stops_everything(project):
    port = _free_port()
    process, lines = start(project, port)
    url = f"http://127.0.0.1:{port}/"
    assert lines[-1] == f"WapShop is at {url}  (Ctrl-C stops it)"
    assert any("Database ready" in line for line in lines[:-1])
    assert any("Booting worker" in line for line in lines[:-1])
    assert urllib.request.urlopen(url + "healthz", timeout=10).status == 200
    config = (project / "instance" / "config.py").read_text()
    assert "SECRET_KEY" in config and "dev-only" not in config
    assert len(processes_in(project)) >= 3  # the script, gunicorn's master, its workers
    assert_thirty_days_of_orders(project)
    stop(process, signal.SIGTERM, group=False)
    assert wait_until_gone(project) == []

    # Second start on the set-up copy: no reinstall (the symlinked .venv would make it fail),
    # no demo reload, and Ctrl-C stops it all the same.
    process, lines = start(project, port)
    assert not any("Loaded the demo" in line for line in lines)
    assert urllib.request.urlopen(url, timeout=10).status == 200
    stop(process, signal.SIGINT, group=True)
    assert wait_until_gone(project) == []


def test_demo_sms_sender_writes_every_message(app, tmp_path):
    from wapshop.sms import load_sender

    log = tmp_path / "sms.log"
    sender = load_sender({"SMS_SENDER": "wapshop.sms:DemoSender", "SMS_DEMO_LOG": str(log)})
    sender.send("13800138000", "验证码 123456")
    sender.send("13900139000", "订单已发货")
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "13800138000 验证码 123456",
        "13900139000 订单已发货",
    ]


@pytest.mark.parametrize("key", ["dev-only-not-secret", "", None])
def test_production_refuses_the_development_secret_key(tmp_path, key, monkeypatch):
    from wapshop import create_app

    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": key}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)
    assert create_app({**config, "SECRET_KEY": "a-real-random-key"}).secret_key
