"""The manager pages end to end (same API process, worker and Chromium as
test_web_client.py): an admin assigns a scenario, the trainee practises it from My
assignments, Team progress shows the API's numbers, a knowledge gap is resolved, and a
trainee is refused the manager pages. Each page is scanned with axe-core and
screenshotted into docs/screenshots/."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext, expect

from tests.e2e.pages import assert_accessible, screenshot, sign_in
from tests.integration.conftest import Account, Tenant, new_tenant

pytestmark = pytest.mark.usefixtures("worker")

SCENARIO = "already_covered"
TITLE = "the warranty already cover it"  # part of its title, shown instead of its id
PITCH = (
    "Congratulations on the new car! Every one of these products is optional and none of "
    "them affects your loan approval. How long are you planning to keep it?"
)


@pytest.fixture(scope="module")
async def team(client: httpx.AsyncClient, super_admin: Account) -> Tenant:
    """A dealership of its own, so the team's numbers are this module's only."""
    return await new_tenant(client, super_admin)


async def _gap_for(http: httpx.AsyncClient, admin: Account, question: str) -> dict[str, Any]:
    """The open knowledge gap holding `question`, once the worker has grouped it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = await http.get("/v1/analytics/knowledge-gaps", headers=admin.headers)
        assert listed.status_code == 200, listed.text
        for gap in listed.json()["items"]:
            if question in gap["examples"]:
                return dict(gap)
        await asyncio.sleep(0.3)
    raise AssertionError(f"no knowledge gap for {question!r} within 60 s")


async def test_assign_practise_follow_progress_and_resolve_a_gap(
    context: BrowserContext, web_url: str, team: Tenant
) -> None:
    admin, user = team.admin, team.user
    # A question the dealership has no material for (it has no documents): a gap, grouped
    # by the worker while the browser works.
    question = f"Does the paint plan cover bird droppings on a {uuid.uuid4().hex[:6]} finish?"
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        started = await http.post(
            "/v1/conversations", json={"mode": "training"}, headers=user.headers
        )
        assert started.status_code == 201, started.text
        asked = await http.post(
            f"/v1/conversations/{started.json()['id']}/messages",
            json={"content": question},
            headers=user.headers,
        )
        assert asked.status_code == 201, asked.text

    # The admin assigns the scenario to the trainee.
    manager = await context.new_page()
    await sign_in(manager, admin.email)
    await manager.get_by_role("link", name="Assignments").click()
    await expect(manager.get_by_role("heading", name="Assignments", exact=True)).to_be_visible()
    await manager.get_by_label("Scenario").select_option(SCENARIO)
    await manager.get_by_label(user.email).check()
    await manager.get_by_label("Minimum score (0").fill("20")
    await manager.get_by_label("Note (optional)").fill("Before the VSC promotion")
    await manager.get_by_role("button", name="Assign").click()
    await expect(manager.get_by_role("status")).to_contain_text("Assignment created")
    assigned = manager.locator(".assignment", has_text="Before the VSC promotion")
    await expect(assigned.locator("tr", has_text=user.email)).to_have_attribute(
        "data-status", "open"
    )
    await assert_accessible(manager, "assignments")
    await screenshot(manager, "assignments")
    assignment_id = await assigned.get_attribute("data-id")

    # The trainee sees it under My assignments; Practise starts a roleplay tied to it.
    trainee = await context.new_page()
    await sign_in(trainee, user.email)
    await expect(trainee.get_by_role("link", name="Team progress")).to_have_count(0)
    await trainee.get_by_role("link", name="My assignments").click()
    mine = trainee.locator(".assignment", has_text="Before the VSC promotion")
    await expect(mine).to_have_attribute("data-status", "open")
    await assert_accessible(trainee, "my assignments")
    await screenshot(trainee, "my-assignments")
    await mine.get_by_role("button", name="Practise").click()
    await expect(trainee.get_by_role("button", name="End session")).to_be_visible()
    match = re.search(r"/roleplay/([0-9a-f-]{36})$", trainee.url)
    assert match, trainee.url
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        session = await http.get(f"/v1/conversations/{match[1]}", headers=user.headers)
    assert session.status_code == 200, session.text
    assert session.json()["assignment_id"] == assignment_id
    assert session.json()["scenario_id"] == SCENARIO

    # Practised and scored: the session counts as an attempt of the assignment.
    await trainee.get_by_label("Your words to the customer").fill(PITCH)
    await trainee.get_by_role("button", name="Send").click()
    await expect(
        trainee.locator(".message.assistant").last.get_by_role(
            "button", name="Helpful answer", exact=True
        )
    ).to_be_visible(timeout=60_000)
    await trainee.get_by_role("button", name="End session").click()
    await expect(trainee.locator(".overall")).to_contain_text("/100", timeout=60_000)
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        progress = await http.get(f"/v1/assignments/{assignment_id}", headers=admin.headers)
        card = await http.get(f"/v1/conversations/{match[1]}/scorecard", headers=user.headers)
        overview = await http.get("/v1/analytics/overview", headers=admin.headers)
    assert progress.status_code == 200, progress.text
    [assignee] = progress.json()["assignees"]
    assert (assignee["attempts"], assignee["best_score"]) == (1, card.json()["overall"])
    await trainee.get_by_role("link", name="My assignments").click()
    await expect(mine).to_contain_text("Attempts 1")
    assert overview.status_code == 200, overview.text
    numbers = overview.json()
    assert (numbers["sessions_started"], numbers["scored"]) == (1, 1), numbers

    # The trainee is refused every manager page.
    for path in ("/team", "/gaps", "/usage"):
        await trainee.goto(path)
        await expect(trainee.get_by_role("alert")).to_contain_text("Only your dealership's admins")
    await assert_accessible(trainee, "team progress refused to a trainee")

    # Team progress shows the API's numbers, a chart per trend, and the person view.
    await manager.get_by_role("link", name="Team progress").click()
    for stat in ("sessions_started", "active_users", "conversations", "scored", "average"):
        value = numbers["average_score" if stat == "average" else stat]
        # As JavaScript prints a number: 18.0 reads "18", 72.5 reads "72.5".
        await expect(manager.locator(f"[data-stat={stat}] dd")).to_have_text(format(value, "g"))
    await expect(manager.locator(".chart svg")).to_have_count(2)
    async with manager.expect_download() as downloading:
        await manager.get_by_role("button", name="Download CSV of the weekly trend").click()
    weekly = (await downloading.value).path()
    rows = (await weekly).read_text().splitlines()
    assert rows[0] == "week,sessions_started,sessions_completed,scored,average_score,pass_rate"
    assert [r.split(",")[0] for r in rows[1:]] == [w["week"] for w in numbers["weekly"]]
    await assert_accessible(manager, "team progress")
    await screenshot(manager, "team-progress")
    await manager.get_by_role("link", name=user.email).click()
    await expect(manager.get_by_role("heading", name=user.email.split("@")[0])).to_be_visible()
    await expect(manager.locator("[data-stat=sessions_started] dd")).to_have_text("1")
    await expect(manager.locator("tr", has_text=TITLE).first).to_be_visible()
    await expect(manager.locator("tr", has_text=TITLE).first).to_contain_text(
        str(card.json()["overall"])
    )
    await assert_accessible(manager, "person")
    await screenshot(manager, "team-person")
    # The manager opens that session's scorecard: the API's score, the trainee's quoted
    # words under the criteria, and no transcript (it is the trainee's own).
    await manager.locator("tr", has_text=TITLE).first.get_by_role("link", name="scored").click()
    await expect(manager.get_by_role("heading", name="Scorecard")).to_be_visible()
    await expect(manager.locator(".overall")).to_contain_text(f"{card.json()['overall']}/100")
    quoted = next(
        e["quote"]
        for c in card.json()["criteria"]
        for check in c["checks"]
        for e in check["evidence"]
    )
    await expect(manager.locator(".criteria blockquote", has_text=quoted).first).to_be_visible()
    await expect(manager.get_by_text("The transcript stays with the trainee")).to_be_visible()
    await assert_accessible(manager, "a trainee's scorecard for the manager")
    await manager.get_by_role("link", name="← Their progress").click()
    await expect(manager.locator("[data-stat=sessions_started] dd")).to_have_text("1")

    # The admin follows the attempt on the assignment and lowers its bar.
    await manager.get_by_role("link", name="Assignments").click()
    await expect(assigned.locator("tr", has_text=user.email)).to_contain_text(
        str(card.json()["overall"])
    )
    await assigned.get_by_role("button", name="Edit").click()
    await assigned.get_by_label("Minimum score", exact=True).fill("15")
    await assigned.get_by_role("button", name="Save").click()
    await expect(assigned).to_contain_text("score at least 15")
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        edited = await http.get(f"/v1/assignments/{assignment_id}", headers=admin.headers)
    assert edited.json()["min_score"] == 15, edited.text

    # The knowledge gap: listed, resolved with a note, then shown under Resolved.
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        gap = await _gap_for(http, admin, question)
    await manager.get_by_role("link", name="Knowledge gaps").click()
    item = manager.locator(f".gap[data-id='{gap['id']}']")
    await expect(item).to_have_attribute("data-status", "open")
    await expect(item).to_contain_text("no material")
    await assert_accessible(manager, "knowledge gaps")
    await screenshot(manager, "knowledge-gaps")
    await item.get_by_role("button", name="Resolve").click()
    await item.get_by_label("What did you do?").fill("Uploaded the paint plan brochure")
    await item.get_by_role("button", name="Mark resolved").click()
    await expect(item).to_have_count(0)
    await manager.get_by_label("Show").select_option("resolved")
    await expect(item).to_have_attribute("data-status", "resolved")
    await expect(item).to_contain_text("Uploaded the paint plan brochure")
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        resolved = await http.get(
            "/v1/analytics/knowledge-gaps", params={"status": "resolved"}, headers=admin.headers
        )
    assert [g["id"] for g in resolved.json()["items"]] == [gap["id"]]

    await manager.get_by_role("link", name="Usage").click()
    await expect(manager.get_by_role("heading", name="Monthly token budget")).to_be_visible()
    await assert_accessible(manager, "usage")
    await manager.close()
    await trainee.close()
