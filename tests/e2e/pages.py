"""What the end-to-end tests do in the browser: sign in, the accessibility scan, screenshots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playwright.async_api import Page, expect

from tests.integration.conftest import PASSWORD

SCREENSHOTS = Path(
    os.environ.get("AVATARADAM_SCREENSHOT_DIR")
    or Path(tempfile.gettempdir()) / "avataradam-screenshots"
)
"""Where the tests' screenshots go: `just screenshots` points it at docs/screenshots; a
plain test run writes them outside the repository, which it never changes."""

AXE_SERIOUS = """async () => {
  const result = await window.axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ` +
                v.nodes.map((n) => n.target.join(" ")).join(", "));
}"""


async def sign_in(page: Page, email: str) -> None:
    """Signs in from `/` and waits for the chat page."""
    await page.goto("/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Chat with Adam")).to_be_visible()


async def assert_accessible(page: Page, what: str) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    violations = await page.evaluate(AXE_SERIOUS)
    assert violations == [], f"accessibility violations on {what}:\n" + "\n".join(violations)


async def screenshot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
