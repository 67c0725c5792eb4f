"""The workflows package as a whole (workflows/__init__.py): pure Python, no Flask or SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_importing_workflows_loads_no_flask_and_no_sqlalchemy():
    code = (
        "import sys, workflows; workflows.Catalog.load();"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'sqlalchemy', 'flask_sqlalchemy', 'werkzeug', 'tracker'});"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=repo
    )
    assert result.returncode == 0, result.stdout + result.stderr
