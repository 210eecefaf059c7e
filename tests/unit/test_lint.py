"""The code base passes ruff's lint and format checks (so the test command covers them)."""

import subprocess
import sys

from tests.support import PROJECT_DIR


def ruff(*args):
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=PROJECT_DIR, capture_output=True, text=True)


def test_ruff_lint_is_clean():
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
