"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against
the app served by uvicorn on loopback (the console's clock in the test's hands, so a session
expires without waiting). Accounts and the project are made with the CLI, as a new user would.
A screenshot of every page is saved under the test's temporary folder."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from conftest import settings_for
from console_helpers import PASSWORD, Clock, totp_now

from vectorcache.api.app import create_app
from vectorcache.cli.main import cli
from vectorcache.embeddings import Encoder
from vectorcache.testing import FakeProvider
from vectorcache.testing.loopback import free_port

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is missing: scripts/system-deps.sh")
IDLE = 600


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self._ready.set()


@dataclass
class Site:
    base: str
    data_dir: Path
    clock: Clock
    shots: Path

    def cli(self, *args: str, input: str | None = None) -> str:
        """A ``vectorcache`` command on the server's data dir (on a thread of its own:
        Playwright's event loop holds this one)."""
        def run() -> Any:
            return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False,
                                      env={"VECTORCACHE_DATA_DIR": str(self.data_dir)})

        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(run).result()
        assert result.exit_code == 0, result.output
        return result.stdout

    def user(self, role: str) -> str:
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        out = self.cli("admin", "create-user", name, "--role", role, input=PASSWORD + "\n")
        assert f"Created {role} '{name}'" in out
        return name

    def query(self, key: str) -> int:
        return httpx.post(f"{self.base}/v1/cache/query",
                          json={"prompt": "how tall is the eiffel tower?",
                                "model": "gpt-4o-mini"},
                          headers={"Authorization": f"Bearer {key}"}, timeout=60).status_code


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("browser-data")
    clock = Clock()
    app = create_app(settings_for(data_dir, console_session_idle_seconds=IDLE),
                     encoder=encoder, clock=clock)
    port = free_port()
    ready = threading.Event()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                    access_log=False), ready)
    thread = threading.Thread(target=server.run, daemon=True, name="console-browser")
    thread.start()
    assert ready.wait(60), "the app did not start"
    try:
        yield Site(base=f"http://127.0.0.1:{port}", data_dir=data_dir, clock=clock,
                   shots=tmp_path_factory.mktemp("screenshots"))
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


class Tab:
    """One signed-in browser context, recording CSP violations and saving screenshots."""

    def __init__(self, browser: Any, site: Site) -> None:
        self.site = site
        self.context = browser.new_context(base_url=site.base)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text)
                     if m.type == "error" else None)

    def shot(self, name: str) -> Path:
        path = self.site.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, name: str, secret: str | None = None) -> str | None:
        p = self.page
        p.goto("/dashboard/")
        assert p.url.endswith("/dashboard/sign-in")
        p.fill("input[name=name]", name)
        p.fill("input[name=password]", PASSWORD)
        p.click("button[type=submit]")
        if p.url.endswith("/dashboard/enrol"):
            self.shot("enrol")
            secret = p.inner_text("#totp-secret").strip()
            p.fill("input[name=code]", totp_now(secret, self.site.clock))
            p.click("form[action='/dashboard/enrol'] button[type=submit]")
            assert p.locator("#backup-codes li").count() == 10
            self.shot("backup-codes")
            p.click("text=Continue to the dashboard")
        elif p.url.endswith("/dashboard/sign-in/code"):
            assert secret is not None
            self.site.clock.advance(30)  # a fresh time step: each code works once
            self.shot("sign-in-code")
            p.fill("input[name=code]", totp_now(secret, self.site.clock))
            p.click("button[type=submit]")
        assert p.url.endswith("/dashboard/"), p.url
        return secret

    def csrf(self) -> str:
        return str(self.page.get_attribute("input[name=csrf_token] >> nth=0", "value"))


def test_the_dashboard_end_to_end(site: Site, browser: Any, provider: FakeProvider) -> None:
    site.cli("projects", "create", "web")
    project_id = next(line.split()[0] for line in site.cli("projects", "list").splitlines()
                      if " web " in f" {line} ")
    owner = Tab(browser, site)
    owner.page.goto("/dashboard/sign-in")
    owner.shot("sign-in")
    owner_name = site.user("owner")
    secret = owner.sign_in(owner_name)
    # signing out and in again asks for the authenticator's code
    owner.page.click("header button:has-text('Sign out')")
    assert owner.sign_in(owner_name, secret) == secret
    owner.shot("projects")

    p = owner.page
    p.click("text=web")
    p.click("nav.tabs >> text=LLM Keys")
    p.fill("input[name=base_url]", provider.base_url)
    p.fill("input[name=api_key]", provider.api_key)
    p.click("text=Save (rotate)")
    assert "…" + provider.api_key[-4:] in p.inner_text("main")
    assert provider.api_key not in p.content()
    owner.shot("llm-keys")

    # Creating an API key: shown once, with a warning and a copy button
    p.click("nav.tabs >> text=API Keys")
    p.fill("#create-key input[name=name]", "production")
    p.click("#create-key button[type=submit]")
    assert "won't see it again" in p.inner_text("main")
    key = p.inner_text("#new-key").strip()
    assert p.is_visible("button.copy")  # console.js ran under the CSP
    owner.shot("key-created")
    assert site.query(key) == 200
    p.click("text=Back to API Keys")
    assert key not in p.content() and key[:11] in p.content()
    owner.shot("api-keys")
    # Managing API keys: revoke asks for confirmation, then the key is refused
    p.click("tr:has-text('production') >> text=Revoke")
    owner.shot("revoke-confirm")
    p.click("button:has-text('Revoke key')")
    assert "revoked" in p.inner_text("#keys")
    assert site.query(key) == 401
    for tab in ("Analytics", "Audit", "Settings"):
        p.click(f"nav.tabs >> text={tab}")
        owner.shot(tab.lower())
        if tab == "Audit":
            assert "key.revoke" in p.inner_text("#audit")
    p.goto("/dashboard/account")
    assert p.locator("#sessions tbody tr").count() >= 1
    owner.shot("account")

    # a viewer sees, but cannot change anything; a post without the CSRF token is refused
    viewer_name = site.user("viewer")
    p.click("header >> text=Users")
    row = p.locator(f"tr[data-user='{viewer_name}']")
    row.locator("select[name=project_id]").select_option(label="web")
    row.locator("button:has-text('Add to project')").click()
    assert "web" in p.inner_text(f"tr[data-user='{viewer_name}']")
    owner.shot("users")
    viewer = Tab(browser, site)
    viewer.sign_in(viewer_name)
    viewer.page.goto(f"/dashboard/projects/{project_id}/keys")
    assert viewer.page.locator("#create-key").count() == 0
    viewer.shot("viewer-keys")
    token = viewer.csrf()
    refused = viewer.context.request.post(f"/dashboard/projects/{project_id}/keys",
                                          form={"csrf_token": token, "name": "x",
                                                "scope_cache:read": "1"})
    assert refused.status == 403 and "read_only" in refused.text()
    no_csrf = owner.context.request.post(f"/dashboard/projects/{project_id}/keys",
                                         form={"name": "x", "scope_cache:read": "1"})
    assert no_csrf.status == 403 and "csrf_failed" in no_csrf.text()

    # a developer's sensitive key does not work until an admin approves it
    dev_name = site.user("developer")
    owner.context.request.put(f"/admin/api/projects/{project_id}/members/{dev_name}",
                              headers={"X-CSRF-Token": owner.csrf()})
    dev = Tab(browser, site)
    dev.sign_in(dev_name)
    dev.page.goto(f"/dashboard/projects/{project_id}/keys")
    dev.page.fill("#create-key input[name=name]", "wide")
    dev.page.click("#create-key button[type=submit]")
    assert dev.page.is_visible("#pending-note")
    pending_key = dev.page.inner_text("#new-key").strip()
    dev.shot("developer-pending")
    assert site.query(pending_key) == 401
    p.goto(f"/dashboard/projects/{project_id}/keys")
    owner.shot("approval-queue")
    p.click("#requests button:has-text('Approve')")
    assert site.query(pending_key) == 200

    # an expired session is sent to sign-in
    site.clock.advance(IDLE + 1)
    p.goto(f"/dashboard/projects/{project_id}/keys")
    assert p.url.endswith("/dashboard/sign-in")
    csp = [e for e in owner.console_errors + viewer.console_errors + dev.console_errors
           if "Content Security Policy" in e]
    assert csp == []
    assert len(list(site.shots.glob("*.png"))) >= 14
