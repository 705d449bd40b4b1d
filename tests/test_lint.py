"""The code follows the project's lint rules (pyproject's [tool.ruff])."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_it_is_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "simdesk", "config", "tests",
                             "bench"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
