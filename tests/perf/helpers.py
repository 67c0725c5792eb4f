"""What the perf tests share: scale data, signing in, counting a request, a fresh worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, text

from tracker.demo import scale_data
from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.services.administration import users as user_service

ROOT = Path(__file__).resolve().parents[2]


def after_wsgi_import(tmp_path: Path, script: str):
    """Run `script` in a fresh interpreter as a production worker starts (it imports
    `wsgi` itself) on an empty SQLite file; the JSON its last printed line holds."""
    env = dict(
        os.environ,
        APP_ENV="production",
        SECRET_KEY="fresh-worker-test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}",
        PYTHONPATH=str(ROOT),
    )
    env.pop("FLASK_RUN_FROM_CLI", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def grow_to(app, n: int, seed: int) -> None:
    """Make sure the seed's engagements 0..n-1 exist (a larger n only tops up)."""
    with app.app_context():
        scale_data.generate(n, seed=seed)
        db.session.remove()


def grow_analysed(app, copies, n: int, seed: int) -> None:
    """Engagements 0..n-1 of the seed on an empty database, analysed (planner statistics),
    for tests that only read them: generated once per process and day, then a byte copy
    (`copies` is the `seeded_copies` fixture, tests/support/seeded_copies.py)."""

    def seed_and_analyse() -> None:
        grow_to(app, n, seed)
        db.session.execute(text("ANALYZE"))
        db.session.commit()

    copies.copy_or_seed(app, ("scale", seed, n, "analysed"), seed_and_analyse)


def scale_user_email(app, role: str, seed: int) -> str:
    """The first generated user of this role for the seed (password scale_data.PASSWORD)."""
    with app.app_context():
        email = db.session.scalar(
            select(User.email)
            .where(User.role == role, User.email.like(f"%@s{seed}.scale%"))
            .order_by(User.id)
        )
        db.session.remove()
    return email


def token_for(app, email: str, name: str = "perf") -> str:
    """A new API token secret for the user with this email."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        _, secret = user_service.create_token(user, name)
        db.session.remove()
    return secret


def manager_and_token(app, seed: int) -> tuple[str, str]:
    """The seed's first manager and a fresh Bearer token for them."""
    email = scale_user_email(app, "manager", seed)
    return email, token_for(app, email)


def first_ids(app, count: int) -> list[int]:
    """The lowest engagement ids (the same engagements whatever the data grows to)."""
    with app.app_context():
        ids = db.session.scalars(select(Engagement.id).order_by(Engagement.id).limit(count)).all()
        db.session.remove()
    return list(ids)


def count_get(client, query_counter, url: str, headers: dict | None = None) -> tuple[int, int]:
    """(status, SQL statements) of a GET, after one warm-up request.

    The warm-up absorbs first-use loads (workflow definitions, templates) and the
    once-a-minute token `last_used_at` write, so only the request's own queries count.
    """
    client.get(url, headers=headers or {})
    with query_counter() as counter:
        response = client.get(url, headers=headers or {})
    return response.status_code, counter.count


def count_requests(client, query_counter, requests: dict[str, tuple[str, dict]]) -> dict[str, int]:
    """SQL statements per named request (url, headers); every answer must be 200."""
    found = {}
    for name, (url, headers) in requests.items():
        status, count = count_get(client, query_counter, url, headers)
        assert status == 200, (name, status)
        found[name] = count
    return found
