"""Refresh the README's screenshots (docs/screenshots/) from the demo data in Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only NAME ...]

The app runs on a throwaway SQLite file seeded with the demo, as in the browser tests;
Debian's /usr/bin/chromium drives it through Playwright. Each shot is a viewport (not a
full page) at the size and colour scheme listed in SHOTS, so a phone shot is what a
phone shows first. Look at every image before committing it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "demo-password"
LAPTOP, PHONE = (1280, 900), (390, 844)
ENGAGEMENT = "Demand forecasting pod"  # a demo engagement mid-trial: every card has content


@dataclass(frozen=True)
class Shot:
    name: str
    email: str
    page: str  # "dashboard", "engagement" or a path
    size: tuple[int, int]
    scheme: str = "light"
    start_at: str | None = None  # a selector scrolled to the top first


SHOTS = [
    Shot("dashboard", "manager@example.com", "dashboard", LAPTOP),
    Shot("engagement", "manager@example.com", "engagement", LAPTOP),
    Shot("dashboard-phone", "manager@example.com", "dashboard", PHONE),
    Shot("dashboard-dark", "manager@example.com", "dashboard", LAPTOP, "dark"),
    Shot("engagement-dark", "manager@example.com", "engagement", LAPTOP, "dark"),
    Shot("engagement-phone-dark", "manager@example.com", "engagement", PHONE, "dark", "#health"),
    Shot("admin-users", "admin@example.com", "/admin/users", LAPTOP, "dark"),
]


def serve(workdir: Path):
    """The app on a fresh SQLite file with the demo data; returns (base url, server)."""
    import tracker.models  # noqa: F401  (registers every table)
    from tracker.demo.seed import seed_demo
    from tracker.services.judgments.health import refresh_all

    url = f"sqlite:///{workdir / 'shots.db'}"
    engine = create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_DIR=str(workdir / "mail"))
    with app.app_context():
        seed_demo()
        refresh_all()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def take(browser, base: str, shot: Shot, out: Path) -> Path:
    width, height = shot.size
    context = browser.new_context(
        viewport={"width": width, "height": height}, color_scheme=shot.scheme
    )
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", shot.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=role]", state="attached")
    if shot.page == "dashboard":
        page.goto(f"{base}/dashboard")
    elif shot.page == "engagement":
        page.goto(f"{base}/dashboard")
        page.locator(f"a:text-is('{ENGAGEMENT}')").first.click()
        page.wait_for_selector("#lifecycle")
    else:
        page.goto(f"{base}{shot.page}")
    page.wait_for_load_state("networkidle")
    if shot.start_at:
        page.locator(shot.start_at).evaluate("el => el.scrollIntoView({block: 'start'})")
    path = out / f"{shot.name}.png"
    page.screenshot(path=str(path))
    context.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--only", nargs="*", help="names from SHOTS (default: all)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in SHOTS if not args.only or s.name in args.only]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        base, server = serve(Path(tmp))
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for shot in chosen:
                print(take(browser, base, shot, args.out))
        finally:
            browser.close()
            server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
