"""A real OpenID provider for the SSO tests: panva's oidc-provider on the system's Node.

`make test` installs it (scripts/ensure-oidc-provider.sh runs `npm ci` in
tests/oidc_provider/). Locally a missing Node or install skips with the reason; with
CI=true it fails, because CI must sign in against a real provider.

The session fixture starts one provider; the function fixture `oidc` gives a test a
clean configuration (clients, accounts, token lifetime, audience) and helpers to drive
the provider's own sign-in screens without a browser.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.conftest import require_or_skip

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT_ID = "tracker"
CLIENT_SECRET = "tracker-client-secret-for-tests-only"
ROLE_CLAIM = "tracker_role"
ACCOUNTS = {
    "ana": {
        "email": "ana@client.example",
        "email_verified": True,
        "name": "Ana Client",
        ROLE_CLAIM: "manager",
    },
    "adele": {
        "email": "adele@client.example",
        "email_verified": True,
        "name": "Adele Admin",
        ROLE_CLAIM: "admin",
    },
    "eve": {
        "email": "eve@elsewhere.example",
        "email_verified": True,
        "name": "Eve Outside",
        ROLE_CLAIM: "manager",
    },
    "rex": {
        "email": "rex@client.example",
        "email_verified": True,
        "name": "Rex Unknown",
        ROLE_CLAIM: "superuser",
    },
    "uma": {"email": "uma@client.example", "email_verified": False, "name": "Uma Unverified"},
}
DEFAULTS = {"idTokenTtl": 3600, "tokenDelayMs": 0, "idTokenOverrides": None}


def client_metadata(base_url: str) -> dict:
    base = base_url.rstrip("/")
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{base}/login/oidc/callback"],
        "post_logout_redirect_uris": [f"{base}/login"],
    }


class OidcProvider:
    """The running provider process and its test-only admin calls."""

    def __init__(self, process: subprocess.Popen, issuer: str):
        self.process = process
        self.issuer = issuer

    def configure(self, **settings) -> dict:
        answer = requests.post(f"{self.issuer}/__admin/config", json=settings, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def rotate_keys(self) -> str:
        answer = requests.post(f"{self.issuer}/__admin/rotate", timeout=10)
        answer.raise_for_status()
        return answer.json()["kid"]

    def published_kids(self) -> list[str]:
        keys = requests.get(f"{self.issuer}/jwks", timeout=10).json()["keys"]
        return [key["kid"] for key in keys]

    def reset(self, base_url: str = "http://localhost") -> None:
        self.configure(clients=[client_metadata(base_url)], accounts=ACCOUNTS, **DEFAULTS)

    def app_settings(self, **overrides) -> dict:
        """The tracker's OIDC_* settings for this provider (the client issuer)."""
        settings = {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_PROVIDER_NAME": "Test IdP",
            "OIDC_ROLE_CLAIM": ROLE_CLAIM,
            "OIDC_ALLOWED_DOMAINS": "client.example",
            "OIDC_JIT": True,
            "OIDC_CLOCK_SKEW_SECONDS": 0,
        }
        settings.update(overrides)
        return settings


def _read_first_line(process: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""


@contextmanager
def running_provider(directory: Path):
    """Start one oidc-provider process; stop it (even on failure) when the block ends."""
    node = shutil.which("node")
    if node is None:
        require_or_skip("node is missing (apt-get install nodejs npm)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        require_or_skip(f"oidc-provider is not installed: run `npm ci` in {PROVIDER_DIR}")
    config = directory / "provider.json"
    config.write_text(
        json.dumps({"clients": [client_metadata("http://localhost")], "accounts": ACCOUNTS})
    )
    log = open(directory / "provider.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [node, str(PROVIDER_DIR / "server.mjs"), str(config)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        line = _read_first_line(process, timeout=30)
        if not line:
            process.kill()
            log.flush()
            pytest.fail(f"oidc-provider did not start: {(directory / 'provider.log').read_text()}")
        yield OidcProvider(process, json.loads(line)["issuer"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        process.stdout.close()
        log.close()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """One oidc-provider process for the session (the client organisation's issuer)."""
    with running_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
def oidc(oidc_provider):
    """The provider with the standard clients and accounts, restored after the test."""
    oidc_provider.reset()
    yield oidc_provider
    oidc_provider.reset()


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"', re.I)
HIDDEN_PROMPT = re.compile(r'name="prompt" value="([^"]+)"')


def through_provider(authorization_url: str, login: str, redirect_uri: str) -> str:
    """Walk the provider's own sign-in and consent screens as `login`; the URL it sends
    the browser back to (the tracker's callback with code, state and iss)."""
    browser = requests.Session()
    url = authorization_url
    for _ in range(12):
        answer = browser.get(url, allow_redirects=False, timeout=10)
        while answer.is_redirect:
            url = urljoin(url, answer.headers["Location"])
            if url.startswith(redirect_uri):
                return url
            answer = browser.get(url, allow_redirects=False, timeout=10)
        action, prompt = FORM_ACTION.search(answer.text), HIDDEN_PROMPT.search(answer.text)
        assert action and prompt, f"no provider form at {url}: {answer.text[:500]}"
        form = {"prompt": prompt.group(1)}
        if form["prompt"] == "login":
            form.update(login=login, password="any")
        answer = browser.post(urljoin(url, action.group(1)), data=form, allow_redirects=False)
        url = urljoin(url, answer.headers["Location"])
        if url.startswith(redirect_uri):
            return url
    raise AssertionError("the provider never sent the browser back")
