"""End-to-end fixtures: the web client in Debian's Chromium against a real `avataradam
serve` process and the real worker on PostgreSQL and Redis.

The browser is the Python `playwright` package driving `/usr/bin/chromium` (installed by
`just setup`, ops/install-web-tools.sh) through `executable_path`; `playwright install`,
which downloads a browser, is never used. axe-core comes from web/node_modules and is
injected as an init script (not fetched, and not subject to the page's CSP).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.integration.conftest import (
    Account,
    Tenant,
    api_process,
    new_tenant,
    service_environment,
)

# A page's state may take longer than Playwright's default 5 s to settle while the whole
# suite loads both cores: an expectation waits up to 20 s (it still has to come true).
expect.set_options(timeout=20_000)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def web_build() -> Path:
    """web/dist, built (or found up to date) by the same script as `just setup-web`."""
    subprocess.run(["bash", str(ROOT / "ops" / "build-web.sh")], check=True, timeout=600)
    assert (WEB / "dist" / "index.html").is_file()
    assert AXE.is_file()
    return WEB / "dist"


@pytest.fixture(scope="session")
def web_url(
    web_build: Path,
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """One API process serving the built client, shared by every end-to-end test."""
    env = service_environment(database_url, redis_url) | {
        # Paced like a model writing, so the test sees the reply arrive piece by piece.
        "AVATARADAM_CHAT_MODEL": "extractive",
        "AVATARADAM_CHAT_EXTRACTIVE_DELTA_DELAY_S": "0.04",
        "AVATARADAM_HTTP_WEB_DIR": str(web_build),
    }
    with api_process(env, tmp_path_factory.mktemp("e2e")) as url:
        yield url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `just setup` (setup-web)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, web_url: str) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(base_url=web_url, viewport={"width": 1280, "height": 800})
    await made.add_init_script(path=str(AXE))
    yield made
    await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture(scope="module")
async def e2e_tenant(client: httpx.AsyncClient, super_admin: Account) -> Tenant:
    """One dealership with an admin and a trainee for the end-to-end tests."""
    return await new_tenant(client, super_admin)
