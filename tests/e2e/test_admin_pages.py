"""The administration pages end to end (same API process and Chromium as the other
end-to-end tests): a super admin adds a dealership, sets its token budget and adds its
people through the dealership picker; the dealership's admin signs a trainee out
everywhere, changes their role and deactivates them, after which they cannot sign in.
Roles without the right are refused the pages; each page is scanned with axe-core, fits
a phone's width, and is screenshotted (users.png, dealerships.png)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Dialog, Page, expect

from tests.e2e.pages import assert_accessible, screenshot, sign_in
from tests.integration.conftest import PASSWORD, Account

ADMIN_DETAIL = "Only your dealership's admins can open this page."
SUPER_DETAIL = "Only super admins can open this page."


def confirming(page: Page, said: list[str]) -> None:
    """Accepts the next confirmation dialog, keeping its question in `said`."""

    async def accept(dialog: Dialog) -> None:
        said.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)


async def fits_a_phone(page: Page, what: str) -> None:
    """At 390 px wide nothing makes the page scroll sideways."""
    await page.set_viewport_size({"width": 390, "height": 844})
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{what} is {overflow} px wider than a phone"
    await page.set_viewport_size({"width": 1280, "height": 800})


async def api_get(web_url: str, path: str, account: Account) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        answer = await http.get(path, headers=account.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def add_user(page: Page, email: str, role: str, first_name: str = "") -> None:
    form = page.locator("form", has_text="Add a user")
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("First name (optional)").fill(first_name)
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_label("Role").select_option(role)
    await form.get_by_role("button", name="Add user").click()
    await expect(form.get_by_role("status")).to_contain_text(f"{email} can now sign in")


async def test_super_admin_sets_up_a_dealership_and_its_admin_manages_a_trainee(
    context: BrowserContext, web_url: str, super_admin: Account
) -> None:
    tag = uuid.uuid4().hex[:6]
    name = f"Lakeside Motors {tag}"
    admin_email = f"manager-{tag}@example.com"
    trainee_email = f"trainee-{tag}@example.com"

    # The super admin adds a dealership on the Dealerships page.
    root = await context.new_page()
    await sign_in(root, super_admin.email)
    await expect(root.get_by_text("Choose the dealership to work on")).to_be_visible()
    await root.get_by_role("link", name="Dealerships").click()
    await expect(root.get_by_role("heading", name="Dealerships", exact=True)).to_be_visible()
    await root.get_by_label("Name").fill(name)
    await root.get_by_role("button", name="Add dealership").click()
    await expect(root.get_by_role("status")).to_contain_text(f"{name} is created")
    card = root.locator(".card", has_text=name)
    await expect(card).to_have_attribute("data-active", "true")
    dealership_id = await card.get_attribute("data-id")
    assert dealership_id

    # Its monthly token budget: a typo is refused beside the field, a number is saved.
    await card.get_by_role("button", name="Token budget").click()
    budget = card.get_by_label("Monthly token budget")
    await expect(budget).to_be_focused()
    await budget.fill("lots")
    await card.get_by_role("button", name="Save budget").click()
    await expect(card.get_by_role("alert")).to_contain_text("whole number of tokens")
    await budget.fill("2,000,000")
    await card.get_by_role("button", name="Save budget").click()
    await expect(card).to_contain_text("Token budget: 2,000,000 tokens a month")
    await card.get_by_role("button", name="Turn leaderboard on").click()
    await expect(card).to_contain_text("leaderboard on")
    stored = await api_get(web_url, f"/v1/dealerships/{dealership_id}", super_admin)
    assert (stored["name"], stored["monthly_token_budget"], stored["leaderboard_enabled"]) == (
        name,
        2_000_000,
        True,
    )
    await assert_accessible(root, "dealerships")
    await fits_a_phone(root, "dealerships")
    await screenshot(root, "dealerships")

    # Users of the dealership: its admin and a trainee, added by the super admin; the
    # API's problem detail for an email already taken shows beside the form.
    await card.get_by_role("button", name="Users").click()
    await expect(root.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    await expect(root.get_by_label("Dealership")).to_have_value(dealership_id)
    await expect(root.get_by_text(f"The people of {name}.")).to_be_visible()
    await add_user(root, admin_email, "dealership_admin", first_name="Morgan")
    await add_user(root, trainee_email, "user")
    form = root.locator("form", has_text="Add a user")
    await form.get_by_label("Email").fill(trainee_email.upper())
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Add user").click()
    await expect(form.get_by_role("alert")).to_contain_text("another user already has this email")
    people = await api_get(web_url, f"/v1/users?dealership_id={dealership_id}", super_admin)
    assert sorted((u["email"], u["role"]) for u in people["items"]) == [
        (admin_email, "dealership_admin"),
        (trainee_email, "user"),
    ]

    # The picker scopes every per-dealership page: each shows the new dealership's
    # (empty) data where the API would refuse a super admin naming no dealership.
    for link, shown in (
        ("Chat", root.get_by_text("No conversations yet.")),
        ("Assignments", root.get_by_text("No assignments yet.")),
        ("Team progress", root.locator("[data-stat=sessions_started] dd")),
        ("Knowledge gaps", root.get_by_text("No knowledge gaps.")),
        ("Documents", root.get_by_text("No documents yet.")),
        ("Reports", root.get_by_text("No reports.")),
        ("Usage", root.get_by_text("of 2000000 tokens left")),
    ):
        await root.get_by_role("link", name=link, exact=True).click()
        await expect(shown).to_be_visible()
        await expect(root.get_by_role("alert")).to_have_count(0)
    # Every dealership at once: each person with their dealership's name.
    await root.get_by_role("link", name="Users").click()
    await root.get_by_label("Dealership").select_option(
        label="Every dealership, and the super admins"
    )
    await expect(root.get_by_text("the people of every dealership")).to_be_visible()
    # oldest first, 50 a page: the session's other tests made many people before these
    card = root.locator(".card", has_text=admin_email)
    more = root.get_by_role("button", name="Show more people")
    await expect(root.locator(".card").first).to_be_visible()  # the first page is in
    for _ in range(100):
        if await card.count() or not await more.count():
            break
        cards_shown = await root.locator(".card").count()
        await more.click()
        await expect(root.locator(".card")).not_to_have_count(cards_shown)
    await expect(card).to_contain_text(name)

    # The trainee signs in; the dealership admin signs them out everywhere.
    trainee = await context.new_page()
    await sign_in(trainee, trainee_email)
    await expect(trainee.get_by_role("link", name="Users")).to_have_count(0)
    await expect(trainee.get_by_role("link", name="Dealerships")).to_have_count(0)
    manager = await context.new_page()
    await sign_in(manager, admin_email)
    await expect(manager.get_by_role("link", name="Dealerships")).to_have_count(0)
    await manager.get_by_role("link", name="Users").click()
    await expect(manager.locator(".card", has_text="Morgan")).to_contain_text("(you)")
    person = manager.locator(".card", has_text=trainee_email)
    questions: list[str] = []
    confirming(manager, questions)
    await person.get_by_role("button", name="Sign out everywhere").click()
    await expect(person.get_by_role("status")).to_contain_text("signed out everywhere")
    assert questions == [f"Sign {trainee_email} out of every session? They can sign in again."]
    await trainee.get_by_role("link", name="My assignments").click()
    await expect(trainee.get_by_role("status")).to_contain_text("Your session has ended")

    # Signed in again, the trainee is refused the administration pages by URL.
    await sign_in(trainee, trainee_email)
    await trainee.goto("/users")
    await expect(trainee.get_by_role("alert")).to_have_text(ADMIN_DETAIL)
    await trainee.goto("/dealerships")
    await expect(trainee.get_by_role("alert")).to_have_text(SUPER_DETAIL)
    await assert_accessible(trainee, "users refused to a trainee")
    await manager.goto("/dealerships")
    await expect(manager.get_by_role("alert")).to_have_text(SUPER_DETAIL)
    await manager.get_by_role("link", name="Users").click()

    # The admin changes the trainee's role, then deactivates them (confirmed).
    await person.get_by_role("button", name="Change role").click()
    await expect(person.get_by_label("New role for")).to_be_focused()
    await person.get_by_label("New role for").select_option("dealership_admin")
    await person.get_by_role("button", name="Save role").click()
    await expect(person).to_have_attribute("data-role", "dealership_admin")
    await expect(person.get_by_role("button", name="Change role")).to_be_focused()
    confirming(manager, questions)
    await person.get_by_role("button", name="Deactivate").click()
    await expect(person).to_have_attribute("data-active", "false")
    assert questions[-1].startswith(f"Deactivate {trainee_email}? They are signed out")
    await expect(person.get_by_role("button", name="Reactivate")).to_be_visible()
    changed = await api_get(
        web_url, f"/v1/users/{await person.get_attribute('data-id')}", super_admin
    )
    assert (changed["role"], changed["active"]) == ("dealership_admin", False)
    await assert_accessible(manager, "users")
    await fits_a_phone(manager, "users")
    await screenshot(manager, "users")

    # The deactivated trainee's session ends, and they cannot sign in again.
    await trainee.get_by_role("link", name="Chat").click()
    await expect(trainee.get_by_role("status")).to_contain_text("Your session has ended")
    await trainee.get_by_label("Email").fill(trainee_email)
    await trainee.get_by_label("Password").fill(PASSWORD)
    await trainee.get_by_role("button", name="Sign in").click()
    await expect(trainee.get_by_role("alert")).to_contain_text("email or password is wrong")

    for opened in (root, trainee, manager):
        await opened.close()
