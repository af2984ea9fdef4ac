"""The web client end to end: Debian's Chromium, a real API process and worker on real
PostgreSQL and Redis (tests/e2e/conftest.py). Each page is scanned with axe-core and
screenshotted into docs/screenshots/."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Dialog, Page, Route, expect

from tests.e2e.pages import assert_accessible, screenshot, sign_in
from tests.fixtures import case_file
from tests.fixtures.hostile import text_pdf
from tests.integration.conftest import PASSWORD, Account, Tenant, new_tenant

pytestmark = pytest.mark.usefixtures("worker")

GAP_TEXT = (
    "GAP covers the difference between what the insurer pays and what is still owed on the "
    "loan. Explain negative equity with the customer's own numbers."
)
GUIDE = (
    "# Presenting GAP\n\n"
    "GAP covers the difference between what the insurer pays and what is still owed on "
    "the loan when the car is totalled. Show the customer the numbers of their own loan.\n"
)


STREAMING_WATCH = """() => {
    window.__streamedWhileAnswering = false;
    const seen = () => [...document.querySelectorAll('.message.assistant')].some(
        (m) => m.textContent.includes('Adam is answering') &&
               (m.querySelector('.text')?.textContent ?? '').trim().length > 0);
    new MutationObserver((_, observer) => {
        if (seen()) { window.__streamedWhileAnswering = true; observer.disconnect(); }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""


async def wait_ready(http: httpx.AsyncClient, account: Account, document_id: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = (await http.get(f"/v1/documents/{document_id}", headers=account.headers)).json()
        if status["status"] == "ready":
            return
        assert status["status"] in ("queued", "processing"), status
        await asyncio.sleep(0.3)
    raise AssertionError(f"document {document_id} not ready within 90 s")


async def test_sign_in_then_upload_a_pdf_and_watch_it_become_ready(
    page: Page, e2e_tenant: Tenant, tmp_path: Path
) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Sign in to AvatarAdam")).to_be_visible()
    await assert_accessible(page, "sign-in")
    await screenshot(page, "sign-in")

    await page.get_by_label("Email").fill(e2e_tenant.admin.email)
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("password")

    await sign_in(page, e2e_tenant.admin.email)
    await page.get_by_role("link", name="Documents").click()
    await expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    pdf = tmp_path / f"gap-{uuid.uuid4().hex[:6]}.pdf"
    pdf.write_bytes(text_pdf(GAP_TEXT))
    await page.get_by_label("Topic").select_option("playbooks")
    await page.get_by_label("File").set_input_files(str(pdf))
    await page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator("tr", has_text=pdf.name)
    await expect(row).to_have_attribute("data-status", "ready", timeout=90_000)
    await expect(row).to_contain_text(
        re.compile(r"(?<!\d)(1 passage(?!s)|\d\d+ passages|[02-9] passages)")
    )
    await assert_accessible(page, "documents")

    # The same file again in the same topic: the 409 is explained, not swallowed.
    await page.get_by_label("File").set_input_files(str(pdf))
    await page.get_by_role("button", name="Upload", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("already in the")

    # A document that cannot be read fails with its code and message, and can be retried.
    await page.get_by_label("File").set_input_files(str(case_file("06e-user-password-aes256.pdf")))
    await page.get_by_role("button", name="Upload", exact=True).click()
    failed = page.locator("tr", has_text="06e-user-password-aes256.pdf")
    await expect(failed).to_have_attribute("data-status", "failed", timeout=90_000)
    await expect(failed).to_contain_text("encrypted_pdf")
    await expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    await assert_accessible(page, "documents with a failed one")
    await screenshot(page, "documents")

    # Upload progress is real: on a link throttled to 256 KiB/s, a 640 KiB file shows the
    # bar part-way (XMLHttpRequest upload events), then the document is listed.
    cdp = await page.context.new_cdp_session(page)
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 262144},
    )
    big = tmp_path / f"menu-{uuid.uuid4().hex[:6]}.md"
    big.write_text("# Menu selling\n\n" + "Present every product on the menu. " * 19_000)
    await page.get_by_label("File").set_input_files(str(big))
    await page.get_by_role("button", name="Upload", exact=True).click()
    await page.wait_for_function(
        """() => { const bar = document.getElementById('upload-progress');
                   return bar !== null && bar.value > 0.1 && bar.value < 0.9; }""",
        timeout=20_000,
    )
    await screenshot(page, "documents-uploading")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    big_row = page.locator("tr", has_text=big.name)
    await expect(big_row).to_be_visible(timeout=30_000)

    # Delete, confirmed in the browser's dialog: the row goes.
    async def confirm(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", confirm)
    await big_row.get_by_role("button", name="Delete").click()
    await expect(big_row).to_have_count(0, timeout=60_000)


async def test_ask_adam_streamed_answer_citation_and_report_inaccurate(
    page: Page, web_url: str, e2e_tenant: Tenant
) -> None:
    admin, user = e2e_tenant.admin, e2e_tenant.user
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        uploaded = await http.post(
            "/v1/documents",
            files={"file": ("gap-guide.md", GUIDE.encode(), "text/markdown")},
            data={"topic": "playbooks"},
            headers=admin.headers,
        )
        assert uploaded.status_code == 202, uploaded.text
        await wait_ready(http, admin, uploaded.json()["id"])

    await sign_in(page, user.email)
    await page.get_by_role("button", name="New training conversation").click()
    await page.get_by_label("Your message to Adam").fill("What does GAP cover?")
    # Streamed: words are on the page while Adam is still answering. The state lasts
    # only while the reply arrives, so every change of the page is checked as it
    # happens (a MutationObserver) rather than polled, which can fall between two
    # changes on a loaded machine.
    await page.evaluate(STREAMING_WATCH)
    await page.get_by_role("button", name="Send").click()
    await page.wait_for_function("() => window.__streamedWhileAnswering === true", timeout=90_000)
    answer = page.locator(".message.assistant").last
    await expect(answer.get_by_role("button", name="Helpful answer", exact=True)).to_be_visible(
        timeout=60_000
    )
    await expect(answer).to_contain_text("GAP covers")
    # The tenant's earlier PDF may be cited too: open the guide's citation, whichever it is.
    marker = answer.get_by_role("button", name=re.compile(r"^Source \d+: gap-guide\.md$")).first
    cited = str(await marker.get_attribute("aria-label")).split(":")[0]
    await marker.click()
    source = answer.get_by_role("complementary", name=cited, exact=True)
    await expect(source).to_be_focused()
    await expect(source).to_contain_text("gap-guide.md")
    await expect(source).to_contain_text("playbooks")
    # The cited passage itself, as the uploaded document has it, under its heading.
    quoted = source.locator("blockquote")
    await expect(quoted).to_contain_text(
        "Show the customer the numbers of their own loan.", timeout=30_000
    )
    assert (await quoted.inner_text()).strip() in GUIDE
    await expect(source).to_contain_text("Presenting GAP")
    await assert_accessible(page, "chat")
    await screenshot(page, "chat")
    await source.get_by_role("button", name="Close").click()
    await expect(source).to_have_count(0)
    await expect(marker).to_be_focused()
    # By keyboard: Enter opens it (the passage is not read again), Escape closes it.
    await marker.press("Enter")
    await expect(source).to_be_focused()
    await expect(quoted).to_contain_text("Show the customer the numbers of their own loan.")
    await page.keyboard.press("Escape")
    await expect(source).to_have_count(0)
    await expect(marker).to_be_focused()

    reason = f"The GAP price quoted is out of date {uuid.uuid4().hex[:6]}"
    await answer.get_by_role("button", name="Report inaccurate").click()
    await answer.get_by_label("What is wrong or inaccurate?").fill(reason)
    await assert_accessible(page, "chat with the report form")
    await answer.get_by_role("button", name="Send report").click()
    await expect(answer.get_by_role("status")).to_contain_text("saved")
    await expect(answer.get_by_role("button", name="Unhelpful answer")).to_have_attribute(
        "aria-pressed", "true"
    )

    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        reports = await http.get("/v1/feedback", headers=admin.headers)
    assert reports.status_code == 200, reports.text
    mine = [r for r in reports.json()["items"] if r["reason"] == reason]
    assert [r["rating"] for r in mine] == ["down"]
    assert mine[0]["question"] == "What does GAP cover?"

    # The admin sees the report in the list, with the question, the answer and the reason.
    admin_page = await page.context.new_page()
    await sign_in(admin_page, admin.email)
    await admin_page.get_by_role("link", name="Reports").click()
    report = admin_page.locator(".report", has_text=reason)
    await expect(report).to_contain_text("What does GAP cover?")
    await expect(report).to_contain_text("GAP covers")
    await assert_accessible(admin_page, "answer reports")
    await screenshot(admin_page, "reports")
    await admin_page.close()

    # A send lost to the network is shown with a Retry that sends it again.
    await page.route("**/messages", lambda route: route.abort("internetdisconnected"))
    await page.get_by_label("Your message to Adam").fill("Is GAP required for the loan?")
    await page.get_by_role("button", name="Send").click()
    failed = page.locator(".message.user").last
    await expect(failed.get_by_role("alert")).to_contain_text("could not be reached")
    await page.unroute("**/messages")
    await failed.get_by_role("button", name="Retry").click()
    await expect(failed.get_by_role("alert")).to_have_count(0)
    await expect(page.locator(".message.user")).to_have_count(2)
    retried = page.locator(".message.assistant").last
    await expect(retried.get_by_role("button", name="Helpful answer", exact=True)).to_be_visible(
        timeout=60_000
    )

    await page.set_viewport_size({"width": 390, "height": 844})
    await assert_accessible(page, "chat at phone width")
    await screenshot(page, "chat-phone")


PITCH = (
    "Welcome in! GAP is optional and never required for your loan. Here are your options "
    "side by side: your base payment is $412 a month with no products, or $431 a month "
    "with GAP. Which would you like?"
)


async def test_roleplay_ended_and_its_scorecard_read(page: Page, e2e_tenant: Tenant) -> None:
    await sign_in(page, e2e_tenant.user.email)
    await page.get_by_role("link", name="Roleplay").click()
    await page.get_by_label("Product").select_option("gap")
    await expect(page.get_by_role("heading", name="Roleplay")).to_be_visible()
    await expect(page.locator(".scenario").first).to_be_visible()
    await assert_accessible(page, "scenario picker")
    await screenshot(page, "roleplay-picker")
    await (
        page.locator(".scenario", has_text="already cover")
        .get_by_role("button", name="Practise")
        .click()
    )

    # the session names its scenario, and the extractive model says what it cannot do
    await expect(
        page.get_by_role("heading", name=re.compile(r"^Roleplay: .*cover"))
    ).to_be_visible()
    await page.get_by_label("Your words to the customer").fill(PITCH)
    await page.get_by_role("button", name="Send").click()
    line = page.locator(".message.assistant").last
    await expect(line).to_contain_text("Customer")
    await expect(line.get_by_role("button", name="Helpful answer", exact=True)).to_be_visible(
        timeout=60_000
    )
    await expect(page.get_by_role("note")).to_contain_text("Extractive mode")
    assert (await line.locator(".text").inner_text()).strip()
    await assert_accessible(page, "roleplay")

    await page.get_by_role("button", name="End session").click()
    await expect(page.get_by_role("heading", name="Scorecard")).to_be_visible()
    overall = page.locator(".overall")
    await expect(overall).to_contain_text("/100", timeout=60_000)
    await expect(overall).to_contain_text("assed")
    await expect(page.locator(".criterion").first).to_be_visible()
    await expect(page.get_by_role("heading", name="Keep doing")).to_be_visible()
    # The trainee's quoted words are highlighted in the transcript.
    await expect(page.locator(".message.user mark").first).to_be_visible()
    await assert_accessible(page, "scorecard")
    await screenshot(page, "scorecard")


async def test_a_trainee_cannot_reach_the_documents_page_nor_the_api(
    page: Page, web_url: str, e2e_tenant: Tenant
) -> None:
    user = e2e_tenant.user
    await sign_in(page, user.email)
    # A reload keeps only the refresh token (sessionStorage): the client rotates it.
    kept = await page.evaluate("sessionStorage.getItem('avataradam.refresh')")
    async with page.expect_response("**/v1/auth/refresh") as refreshed:
        await page.reload()
    assert (await refreshed.value).status == 200
    await expect(page.get_by_role("heading", name="Chat with Adam")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('avataradam.refresh')") != kept
    await expect(page.get_by_role("link", name="Documents")).to_have_count(0)
    await page.goto("/documents")
    await expect(page.get_by_role("alert")).to_contain_text("Only your dealership's admins")
    await expect(page.get_by_label("File")).to_have_count(0)
    await assert_accessible(page, "documents refused to a trainee")
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        upload = await http.post(
            "/v1/documents",
            files={"file": ("guide.md", GUIDE.encode(), "text/markdown")},
            data={"topic": "playbooks"},
            headers=user.headers,
        )
        reports = await http.get("/v1/feedback", headers=user.headers)
    assert upload.status_code == 403, upload.text
    assert reports.status_code == 403, reports.text


async def test_an_ended_session_returns_to_sign_in(
    page: Page, web_url: str, client: httpx.AsyncClient, super_admin: Account
) -> None:
    tenant = await new_tenant(client, super_admin)
    await sign_in(page, tenant.user.email)
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        ended = await http.post(
            f"/v1/users/{tenant.user.id}/sessions/revoke", headers=tenant.admin.headers
        )
    assert ended.status_code == 204, ended.text
    await page.get_by_role("button", name="New training conversation").click()
    await expect(page.get_by_role("heading", name="Sign in to AvatarAdam")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("session has ended")
    assert await page.evaluate("sessionStorage.getItem('avataradam.refresh')") is None
    # signed in again on that page, the address is the page shown, not /sign-in
    await page.get_by_label("Email").fill(tenant.user.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Chat with Adam")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/chat$"))
    # and after Sign out, the next person signed in there too
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Email").fill(tenant.admin.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Chat with Adam")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/chat$"))


async def test_the_conversation_list_shows_the_newest_first_and_older_on_demand(
    page: Page, web_url: str, client: httpx.AsyncClient, super_admin: Account
) -> None:
    """Given 52 conversations, the list shows the newest 50 first (the one started last
    on top) and "Show older conversations" adds the first two."""
    tenant = await new_tenant(client, super_admin)
    started: list[str] = []
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        for _ in range(52):
            made = await http.post(
                "/v1/conversations", json={"mode": "training"}, headers=tenant.user.headers
            )
            assert made.status_code == 201, made.text
            started.append(made.json()["id"])
    await sign_in(page, tenant.user.email)
    links = page.get_by_role("navigation", name="Conversations").get_by_role("link")
    await expect(links).to_have_count(50)
    assert await links.first.get_attribute("href") == f"/chat/{started[-1]}"
    await page.get_by_role("button", name="Show older conversations").click()
    await expect(links).to_have_count(52)
    assert await links.last.get_attribute("href") == f"/chat/{started[0]}"
    await expect(page.get_by_role("button", name="Show older conversations")).to_have_count(0)


async def test_the_api_docs_render_with_nothing_fetched_from_another_host(
    page: Page, web_url: str
) -> None:
    """`/docs` (Swagger UI) loads its files from the API's own origin: with every request
    to another host refused, the operations are listed."""
    elsewhere: list[str] = []

    async def same_origin_only(route: Route) -> None:
        if route.request.url.startswith(web_url):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", same_origin_only)
    await page.goto("/docs")
    await expect(page.get_by_role("heading", name=re.compile("AvatarAdam API"))).to_be_visible()
    await expect(page.get_by_text("/v1/documents/{document_id}/passages/{index}")).to_be_visible()
    assert elsewhere == []
