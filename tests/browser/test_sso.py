"""Single sign-on in Chromium against a real OpenID provider (oidc-provider on Node):
the whole flow a person sees, and each way it is refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from tests.support.browser import screenshot, serving
from tracker.extensions import db
from tracker.models import AuditEvent, SsoLink, User


@pytest.fixture
def sso_server(tmp_path, oidc, live_apps, sqlite_template):
    """The tracker on an empty database, served live, signing in through the provider."""
    with serving(live_apps(**oidc.app_settings()), tmp_path, sqlite_template) as live:
        live.app.config["BASE_URL"] = live.url  # the redirect URI the provider knows
        oidc.reset(live.url)
        yield live.app, live.url


@pytest.fixture
def sso_page(page):
    """The page with every request off this machine refused (the provider's development
    screens ask for a web font)."""
    page.context.route(
        lambda url: urlsplit(url).hostname not in ("127.0.0.1", "localhost"),
        lambda route: route.abort(),
    )
    return page


def provider_sign_in(page, base: str, login: str) -> None:
    """Press the tracker's button, then sign in and consent on the provider's screens."""
    page.goto(f"{base}/login")
    page.click("text=Sign in with Test IdP")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.click("button:has-text('Continue')")


def refusals(app) -> list[str]:
    with app.app_context():
        reasons = db.session.scalars(
            select(AuditEvent.reason).where(AuditEvent.kind == "sso_refused")
        ).all()
        db.session.remove()
    return list(reasons)


def user_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(User))
        db.session.remove()
    return count


def test_first_sign_in_creates_the_user_with_the_providers_role_and_signs_out_there(
    sso_server, sso_page, oidc
):
    app, base = sso_server
    page = sso_page
    page.goto(f"{base}/login")
    screenshot(page, "sso-sign-in-page")
    provider_sign_in(page, base, "adele")
    page.wait_for_selector("[data-testid=role]", state="attached")
    assert page.url.startswith(base)
    assert page.locator("[data-testid=role]").inner_text().strip().lower() == "admin"
    screenshot(page, "sso-signed-in")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "adele@client.example"))
        assert (user.role, user.name) == ("admin", "Adele Admin")
        assert db.session.scalar(select(SsoLink.subject)) == "adele"
        db.session.remove()

    # Sign out: the tracker session ends, then the provider's end-session screen.
    page.click("form[action='/logout'] button")
    page.wait_for_url(f"{oidc.issuer}/session/end**")
    page.click("button:has-text('Yes, sign me out')")
    page.wait_for_url(f"{base}/login**")
    page.goto(f"{base}/home")
    assert urlsplit(page.url).path == "/login"  # signed out of the tracker
    # Signed out at the provider too: the next sign-in asks for the login again.
    page.goto(f"{base}/login")
    page.click("text=Sign in with Test IdP")
    page.wait_for_selector("input[name=login]")


def test_a_refused_domain_shows_why_and_creates_nobody(sso_server, sso_page):
    app, base = sso_server
    provider_sign_in(sso_page, base, "eve")
    refusal = sso_page.locator("[data-testid=sso-refused]")
    refusal.wait_for()
    assert "eve@elsewhere.example is outside the email domains" in refusal.inner_text()
    assert refusal.get_attribute("data-reason") == "domain_refused"
    screenshot(sso_page, "sso-refused-domain")
    assert user_count(app) == 0
    assert refusals(app) == ["domain_refused"]


def test_a_tampered_state_is_refused(sso_server, sso_page, oidc):
    """Someone between the provider and the browser changes `state` in the answer."""
    app, base = sso_server
    page = sso_page
    seen: list[str] = []

    def tamper(route):
        request = route.request
        if request.method != "POST" or "prompt=consent" not in (request.post_data or ""):
            route.continue_()
            return
        resume = route.fetch(max_redirects=0).headers["location"]
        answer = page.context.request.get(urljoin(oidc.issuer, resume), max_redirects=0)
        back = answer.headers["location"]
        seen.append(back)
        query = parse_qs(urlsplit(back).query)
        query["state"] = [query["state"][0][::-1]]
        route.fulfill(status=303, headers={"Location": back.split("?")[0] + "?" + urlencode(
            {key: values[0] for key, values in query.items()})})  # fmt: skip

    page.route("**/interaction/**", tamper)
    provider_sign_in(page, base, "ana")
    refusal = page.locator("[data-testid=sso-refused]")
    assert "does not belong to a sign-in started in this browser" in refusal.inner_text()
    assert refusal.get_attribute("data-reason") == "state_mismatch"
    assert seen and seen[0].startswith(f"{base}/login/oidc/callback?code=")
    assert user_count(app) == 0
    assert refusals(app) == ["state_mismatch"]


def test_an_expired_id_token_is_refused(sso_server, sso_page, oidc):
    app, base = sso_server
    oidc.configure(idTokenTtl=1, tokenDelayMs=2100)
    provider_sign_in(sso_page, base, "ana")
    refusal = sso_page.locator("[data-testid=sso-refused]")
    assert "had already expired" in refusal.inner_text()
    assert user_count(app) == 0
    assert refusals(app) == ["id_token_expired"]


def test_after_key_rotation_the_next_sign_in_still_verifies(sso_server, sso_page, oidc):
    app, base = sso_server
    page = sso_page
    provider_sign_in(page, base, "ana")
    page.wait_for_selector("[data-testid=role]", state="attached")
    old_kids = oidc.published_kids()
    new_kid = oidc.rotate_keys()
    assert new_kid not in old_kids
    page.context.clear_cookies()
    provider_sign_in(page, base, "ana")
    page.wait_for_selector("[data-testid=role]", state="attached")
    assert page.locator("[data-testid=role]").inner_text().strip().lower() == "manager"
    assert refusals(app) == []
    assert user_count(app) == 1


def test_the_sso_pages_meet_the_csp_and_pass_axe(sso_server, sso_page):
    """The sign-in page with its provider button, and a refusal page: no CSP violation,
    no script error, no serious or critical axe-core finding."""
    from tests.browser.test_csp import Watcher, _serious_axe_violations

    app, base = sso_server
    watcher = Watcher(sso_page)
    sso_page.goto(f"{base}/login")
    problems = [f"/login: {v}" for v in _serious_axe_violations(sso_page)]
    provider_sign_in(sso_page, base, "rex")  # an unknown role: refused
    sso_page.locator("[data-testid=sso-refused]").wait_for()
    problems += [f"refusal: {v}" for v in _serious_axe_violations(sso_page)]
    assert problems + watcher.problems == []
    assert refusals(app) == ["role_unknown"]
