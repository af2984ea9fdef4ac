"""Starting a conversation, listing one's own, reading one with its messages."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope
from avataradam.domain.errors import InvalidInput, NotFound
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import Conversation, ConversationMode, Language, Message
from avataradam.domain.model.scenarios import Scenario
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.training.scenarios import BUILT_IN, persona_for
from avataradam.domain.usecases.assignments import assigned_scenario_id
from avataradam.domain.usecases.scenario_rules import find_scenario

MAX_SCENARIO_CHARS = 200


class NewConversation(msgspec.Struct, frozen=True, kw_only=True):
    mode: ConversationMode
    scenario: str | None = None
    """Roleplay: a built-in scenario's slug (the legacy persona key). Training: an
    optional focus."""
    scenario_id: str | None = None
    """Roleplay only: a built-in's slug or an own scenario's UUID. Neither this nor
    `scenario`: a random built-in scenario."""
    assignment_id: UUID | None = None
    """Roleplay only: the assignment (of the caller) the session counts toward; it
    practises the assignment's scenario."""
    dealership_id: UUID | None = None
    language: str = Language.EN.value
    """A `Language` value: the customer's language in roleplay; in training, Adam's when
    a question's own language is unclear."""


class ConversationDetail(msgspec.Struct, frozen=True, kw_only=True):
    conversation: Conversation
    messages: list[Message]


def require_storable(text: str, field: str) -> None:
    """Refuses, before any work starts, text that storage cannot hold (PostgreSQL
    `text` cannot contain U+0000), rather than failing when the reply is stored."""
    if "\x00" in text:
        raise InvalidInput(f"{field} must not contain the NUL character (U+0000)", field=field)


def language_of(value: str) -> Language:
    """The `Language` named by `value`, or `InvalidInput` naming the valid values."""
    try:
        return Language(value)
    except ValueError:
        valid = ", ".join(f'"{language.value}"' for language in Language)
        raise InvalidInput(f"unknown language; choose one of {valid}", field="language") from None


class StartConversation:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        choose: Callable[[Sequence[str]], str] = random.choice,
    ) -> None:
        self._uow, self._clock, self._ids, self._choose = uow, clock, ids, choose

    async def __call__(
        self, principal: Principal, new: NewConversation, *, idempotency_key: str | None = None
    ) -> Answer[Conversation]:
        """A new conversation; with an idempotency key (the caller's own), repeats
        replay the first answer instead of starting another one."""
        dealership_id = dealership_scope(principal, new.dealership_id)
        language = language_of(new.language)
        scenario = (new.scenario or "").strip() or None
        if scenario is not None and len(scenario) > MAX_SCENARIO_CHARS:
            raise InvalidInput(f"scenario is at most {MAX_SCENARIO_CHARS} characters")
        require_storable(scenario or "", "scenario")
        practised: Scenario | None = None
        if new.scenario_id is not None or new.assignment_id is not None:
            if new.mode is not ConversationMode.ROLEPLAY:
                field = "scenario_id" if new.scenario_id is not None else "assignment_id"
                raise InvalidInput(
                    f"{field} starts a roleplay; a training conversation practises none",
                    field=field,
                )
            if scenario is not None:
                raise InvalidInput("pass scenario_id or scenario, not both", field="scenario")
        elif new.mode is ConversationMode.ROLEPLAY:
            slug = persona_for(scenario).scenario if scenario else self._choose(list(BUILT_IN))
            practised = BUILT_IN[slug]
        now = self._clock.now()
        conversation = Conversation(
            id=self._ids.new_id(),
            dealership_id=dealership_id,
            user_id=principal.user_id,
            mode=new.mode,
            scenario=practised.slug if practised else scenario,
            created_at=now,
            updated_at=now,
            language=language,
            scenario_id=practised.public_id if practised else None,
        )
        request = IdempotentRequest.of(f"conversations:{principal.user_id}", idempotency_key, new)
        async with self._uow() as uow:
            key = new.scenario_id
            if new.assignment_id is not None:
                key = await assigned_scenario_id(
                    uow,
                    new.assignment_id,
                    dealership_id=dealership_id,
                    user_id=principal.user_id,
                    requested=key,
                )
            if key is not None:
                practised = await find_scenario(uow, key, dealership_id=dealership_id)
                if practised is not None:
                    conversation = msgspec.structs.replace(
                        conversation,
                        scenario=practised.slug,
                        scenario_id=practised.public_id,
                        assignment_id=new.assignment_id,
                    )
            replay = await first_answer(uow, request, conversation, status_code=201, now=now)
            if replay is not None:
                return replay
            if await uow.dealerships.get(dealership_id) is None:
                raise NotFound("dealership not found")
            if key is not None and practised is None:
                raise NotFound("scenario not found")
            await uow.conversations.add(conversation)
            await uow.commit()
        return Answer(value=conversation)


class ListConversations:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Conversation]:
        scope = dealership_scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            return await uow.conversations.list_page(
                dealership_id=scope, user_id=principal.user_id, cursor=cursor, limit=limit
            )


class GetConversation:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, principal: Principal, conversation_id: UUID, *, dealership_id: UUID | None = None
    ) -> ConversationDetail:
        scope = dealership_scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            conversation = await uow.conversations.get(
                conversation_id, dealership_id=scope, user_id=principal.user_id
            )
            if conversation is None:
                raise NotFound("conversation not found")
            messages = await uow.conversations.messages(conversation_id)
        return ConversationDetail(conversation=conversation, messages=messages)
