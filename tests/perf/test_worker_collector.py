"""A served process freezes what create_app built, so the collector's passes skip it.

Without the freeze a full pass walks every module, mapped class and schema (~90 ms, every
60 or so pages: a request's p99). docs/adr/0252.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wsgi_app_leaves_only_what_requests_make_to_the_collector(tmp_path):
    env = dict(
        os.environ,
        APP_ENV="production",
        SECRET_KEY="collector-test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}",
        PYTHONPATH=str(ROOT),
    )
    env.pop("FLASK_RUN_FROM_CLI", None)
    script = (
        "import gc, json, wsgi\n"
        "print(json.dumps([gc.get_freeze_count(), len(gc.get_objects()), gc.get_threshold()]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    frozen, tracked, threshold = json.loads(result.stdout.strip().splitlines()[-1])
    assert frozen > 50_000  # the app's own objects, not a handful
    assert tracked < frozen / 20, (frozen, tracked)
    assert threshold[0] == 10_000
