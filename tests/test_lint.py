"""The house style, checked by the suite (and so by CI): ruff's lint rules and its formatting,
with the settings in pyproject.toml, over the whole project."""

import subprocess
import sys

import pytest

from wapshop import ROOT


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=" ".join)
def test_ruff_finds_nothing(command):
    ran = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
