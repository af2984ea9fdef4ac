"""The steps of `avataradam demo` (`demo.py` prints them), each through the use cases an
API request calls, and each idempotent: what exists already (the dealership by its
name, accounts by email, documents by topic and filename, a trainee's roleplay of a
scenario) is kept and reported, never created twice, so a second run (or one after an
interrupted run) adds only what is missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING
from uuid import UUID

from avataradam.domain.access import Principal
from avataradam.domain.errors import DuplicateDocument, InvalidInput
from avataradam.domain.filetypes import SNIFF_HEAD_BYTES, sniff_content_type
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    Dealership,
    Document,
    DocumentStatus,
    Role,
    User,
)
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.pagination import Cursor, every_row
from avataradam.domain.usecases.conversations.start import NewConversation
from avataradam.domain.usecases.documents import UploadedFile, UploadRequest
from avataradam.domain.usecases.users import NewUser, valid_password
from avataradam.entrypoints.cli_reembed import every_dealership
from avataradam.entrypoints.demo_content import (
    DEALERSHIP_NAME,
    MANAGER,
    SESSIONS,
    SUPER_ADMIN,
    TRAINEES,
    DemoAccount,
    DemoDocument,
    DemoSession,
    knowledge_base,
)

if TYPE_CHECKING:
    from avataradam.entrypoints.container import Container

UNFINISHED = (DocumentStatus.QUEUED, DocumentStatus.PROCESSING)


class Password:
    """The demo accounts' password: the operator's (checked before anything is made),
    else one generated when the first account is created, to be printed once."""

    def __init__(self, given: str | None) -> None:
        self.given = None if given is None else valid_password(given, field="--password")
        self._generated: str | None = None

    @property
    def generated(self) -> str | None:
        return self._generated

    def value(self) -> str:
        if self.given is not None:
            return self.given
        if self._generated is None:
            self._generated = secrets.token_urlsafe(12)
        return self._generated


@dataclass
class Seeded:
    """A demo account's user, and whether this run created it."""

    account: DemoAccount
    user: User
    created: bool


@dataclass
class Played:
    """A demo session's conversation (completed), and whether this run played it."""

    session: DemoSession
    conversation: Conversation
    created: bool


@dataclass
class Seeding:
    """What one run found or made; `uploaded` and `retried` count documents."""

    dealership: Dealership
    dealership_created: bool
    accounts: list[Seeded]
    super_admin: Seeded | None
    """None when another super admin exists (the demo makes none then)."""
    documents: list[Document]
    uploaded: int
    retried: int
    sessions: list[Played] = field(default_factory=list)

    @property
    def manager(self) -> Principal:
        return principal_of(self.accounts[0].user)


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role, dealership_id=user.dealership_id)


async def find_dealership(container: Container, name: str) -> Dealership | None:
    async for dealership in every_dealership(container):
        if dealership.name == name:
            return dealership
    return None


async def _existing_user(container: Container, email: str) -> User | None:
    async with container.uow(read_only=True) as uow:
        return await uow.users.get_by_email(email)


async def ensure_account(
    container: Container, account: DemoAccount, dealership_id: UUID | None, password: Password
) -> Seeded:
    """The account, created unless its email exists; InvalidInput when that email is
    someone else's (another dealership's or another role's)."""
    user = await _existing_user(container, account.email)
    if user is not None:
        if user.dealership_id != dealership_id or user.role is not account.role:
            raise InvalidInput(
                f"{account.email} exists already, but not as the demo's {account.label}"
            )
        return Seeded(account=account, user=user, created=False)
    new = NewUser(
        email=account.email,
        password=password.value(),
        role=account.role,
        first_name=account.first_name,
        last_name=account.last_name,
    )
    return Seeded(
        account=account, user=await container.create_user.create(new, dealership_id), created=True
    )


async def _another_super_admin(container: Container) -> bool:
    async def page(cursor: Cursor | None, limit: int) -> list[User]:
        async with container.uow(read_only=True) as uow:
            return await uow.users.list_page(dealership_id=None, cursor=cursor, limit=limit)

    async for user in every_row(page):
        if user.role is Role.SUPER_ADMIN and user.email != SUPER_ADMIN.email:
            return True
    return False


async def ensure_super_admin(container: Container, password: Password) -> Seeded | None:
    """The demo's super admin: kept when it exists, else made only if the database has
    no super admin at all (an operator's own is left as the only one)."""
    ours = await _existing_user(container, SUPER_ADMIN.email)
    if ours is None and await _another_super_admin(container):
        return None
    return await ensure_account(container, SUPER_ADMIN, None, password)


async def _documents(container: Container, admin: Principal) -> list[Document]:
    async def page(cursor: Cursor | None, limit: int) -> list[Document]:
        return await container.list_documents(
            admin, dealership_id=None, topic=None, status=None, cursor=cursor, limit=limit
        )

    return [document async for document in every_row(page)]


async def _upload(container: Container, admin: Principal, document: DemoDocument) -> Document:
    data = document.content

    async def scan() -> UploadedFile:
        return UploadedFile(
            filename=document.filename,
            content_type=sniff_content_type(data[:SNIFF_HEAD_BYTES], document.filename),
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    async def parts() -> AsyncIterator[bytes]:
        yield data

    request = UploadRequest(topic=document.topic)
    try:
        return (await container.upload_document(admin, request, scan, parts)).value
    except DuplicateDocument as exc:  # the same bytes under another name: that one is it
        return await container.get_document(admin, UUID(str(exc.details["document_id"])))


async def upload_knowledge_base(
    container: Container, admin: Principal
) -> tuple[list[Document], int, int]:
    """The demo documents, uploaded unless a document of the same topic and filename
    exists (a failed one is retried); with how many were uploaded and retried now."""
    existing = {(d.topic, d.filename): d for d in await _documents(container, admin)}
    documents: list[Document] = []
    uploaded = retried = 0
    for document in knowledge_base():
        found = existing.get((document.topic, document.filename))
        if found is None:
            found = await _upload(container, admin, document)
            uploaded += 1
        elif found.status is DocumentStatus.FAILED:
            found = await container.retry_document(admin, found.id)
            retried += 1
        documents.append(found)
    return documents, uploaded, retried


async def play(container: Container, session: DemoSession, trainee: User) -> Played:
    """The trainee's roleplay of the session's scenario, completed (so the worker scores
    it): played now unless the trainee has one of that scenario already."""
    principal = principal_of(trainee)
    owned = [
        c
        async for c in every_row(
            lambda cursor, limit: container.list_conversations(
                principal, cursor=cursor, limit=limit
            )
        )
    ]
    earlier = [
        c for c in owned if c.mode is ConversationMode.ROLEPLAY and c.scenario == session.scenario
    ]
    created = not earlier
    if earlier:
        conversation = earlier[0]
    else:
        new = NewConversation(mode=ConversationMode.ROLEPLAY, scenario_id=session.scenario)
        conversation = (await container.start_conversation(principal, new)).value
        for turn in session.turns:
            await container.send_message(principal, conversation.id, turn)
    if conversation.completed_at is None:
        await container.scoring.complete(principal, conversation.id)
    return Played(session=session, conversation=conversation, created=created)


async def seed_people(container: Container, password: Password) -> Seeding:
    """The dealership and its accounts (printed before anything else is made, so that a
    generated password is shown even if a later step fails)."""
    dealership = await find_dealership(container, DEALERSHIP_NAME)
    dealership_created = dealership is None
    if dealership is None:
        dealership = await container.create_dealership.create(DEALERSHIP_NAME)
    accounts = [
        await ensure_account(container, account, dealership.id, password)
        for account in (MANAGER, *TRAINEES)
    ]
    return Seeding(
        dealership=dealership,
        dealership_created=dealership_created,
        accounts=accounts,
        super_admin=await ensure_super_admin(container, password),
        documents=[],
        uploaded=0,
        retried=0,
    )


async def seed_content(container: Container, seeding: Seeding) -> None:
    """The knowledge base and the roleplay sessions of `seeding`'s people, into it."""
    seeding.documents, seeding.uploaded, seeding.retried = await upload_knowledge_base(
        container, seeding.manager
    )
    users = {seeded.account.email: seeded.user for seeded in seeding.accounts}
    for session in SESSIONS:
        seeding.sessions.append(await play(container, session, users[session.trainee]))


@dataclass
class Progress:
    """The seeded documents and scorecards as last read, in the demo's order."""

    documents: list[Document]
    scorecards: list[StoredScorecard]

    @property
    def documents_pending(self) -> list[Document]:
        return [d for d in self.documents if d.status in UNFINISHED]

    @property
    def scorecards_pending(self) -> list[StoredScorecard]:
        return [s for s in self.scorecards if s.status is ScorecardStatus.PENDING]

    @property
    def done(self) -> bool:
        return not self.documents_pending and not self.scorecards_pending


async def progress(container: Container, seeding: Seeding) -> Progress:
    """The demo documents' and sessions' current states, as their manager reads them."""
    manager = seeding.manager
    current = {d.id: d for d in await _documents(container, manager)}
    get_scorecard = partial(container.scoring.get, manager)
    return Progress(
        documents=[current.get(d.id, d) for d in seeding.documents],
        scorecards=[await get_scorecard(p.conversation.id) for p in seeding.sessions],
    )


async def wait_until_done(
    container: Container, seeding: Seeding, timeout_s: float, poll_s: float = 1.0
) -> Progress:
    """`progress` once every document is ready or failed and every session scored or
    failed, or when `timeout_s` has passed (then with what is still pending)."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = await progress(container, seeding)
        if now.done or time.monotonic() >= deadline:
            return now
        await asyncio.sleep(poll_s)
