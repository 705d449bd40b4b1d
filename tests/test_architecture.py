"""The domain layering of DESIGN.md §3 holds: imports go one way (pyproject's import-linter
contract: core ← accounts ← catalog ← cards ← payments ← orders ← renewals ← usage,
interfaces on top)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_it_keeps_imports_flowing_one_way():
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
