"""The wired application: ports, adapters and use cases built once by bootstrap."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import BinaryIO

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from avataradam.adapters.caching.answers import SharedAnswerCache
from avataradam.adapters.caching.retrieval import knowledge_base_retriever
from avataradam.adapters.extract import require_text
from avataradam.adapters.observability.metrics import Metrics
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.domain.citations import CitationChecker, Sentences, SentenceSpans
from avataradam.domain.embedding_text import PassageText
from avataradam.domain.idempotency import PurgeIdempotencyKeys
from avataradam.domain.ports.capabilities import WarmsUp, undecorated
from avataradam.domain.ports.knowledge import (
    Chunker,
    Embedder,
    KeywordSearch,
    Spool,
    TextExtractor,
    VectorIndex,
)
from avataradam.domain.ports.repositories.identity import AccountStates, GenerationReader
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import (
    BudgetLedger,
    Cache,
    ChatModel,
    RateLimiter,
    TaskQueue,
    Telemetry,
    WebhookSender,
)
from avataradam.domain.ports.system import Clock, IdGenerator, PasswordHasher, TokenService
from avataradam.domain.profiles import VectorProfiles
from avataradam.domain.usecases.auth import Authenticate, Login, Logout, Refresh, TokenIssuer
from avataradam.domain.usecases.conversations.chat import SendMessage
from avataradam.domain.usecases.conversations.feedback import ListFeedback, RateMessage
from avataradam.domain.usecases.conversations.start import (
    GetConversation,
    ListConversations,
    StartConversation,
)
from avataradam.domain.usecases.dealerships import (
    CreateDealership,
    GetDealership,
    ListDealerships,
    UpdateDealership,
)
from avataradam.domain.usecases.document_jobs import MarkFailed, PurgeDocument, ReconcileDocuments
from avataradam.domain.usecases.documents import (
    DeleteDocument,
    GetDocument,
    GetPassage,
    ListDocuments,
    RetryDocument,
    TaskDispatcher,
    UploadDocument,
)
from avataradam.domain.usecases.ingestion import IngestDocument
from avataradam.domain.usecases.ingestion_run import IngestionOptions
from avataradam.domain.usecases.outbox import RelayOutbox
from avataradam.domain.usecases.ratelimits import EnforceRateLimits, RatePolicies
from avataradam.domain.usecases.reembedding import (
    GetReembedding,
    ListReembeddings,
    ReconcileReembeddings,
    RunReembedding,
    StartReembedding,
)
from avataradam.domain.usecases.search import SearchKnowledgeBase
from avataradam.domain.usecases.sessions import ChangeOwnPassword, EndSessions
from avataradam.domain.usecases.usage import GetUsage, UsageBudget
from avataradam.domain.usecases.users import CreateUser, GetUser, ListUsers, UpdateUser
from avataradam.domain.usecases.webhook_delivery import (
    DeliverWebhook,
    DeliveryPolicy,
    RedriveDeliveries,
)
from avataradam.domain.usecases.webhooks import (
    CreateSubscription,
    DeleteSubscription,
    GetSubscription,
    ListSubscriptions,
    RotateSecret,
)
from avataradam.entrypoints.knowledge_gaps import wire_knowledge_gaps
from avataradam.entrypoints.options import (
    answer_cache_options,
    cache_options,
    chat_options,
    reembedding_options,
    support_threshold,
)
from avataradam.entrypoints.profiles import warm_profiles_in_use
from avataradam.entrypoints.scoring import training_use_cases, wire_scoring
from avataradam.entrypoints.settings import Settings
from avataradam.entrypoints.speech import SpeechEngines, wire_speech

HealthCheck = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Knowledge:
    """The ingestion and retrieval adapters and their tuning."""

    extractor: TextExtractor
    chunker: Chunker
    embedder: Embedder
    index: VectorIndex
    options: IngestionOptions
    queued_timeout: timedelta
    spool: Spool
    passage_text: PassageText
    """What is embedded for a passage (its title and section, or its text alone)."""
    profiles: VectorProfiles
    """Every vector profile's embedder and passage text, the configured one's above."""
    keywords: KeywordSearch | None = None
    """Fused with the vector ranking when given (AVATARADAM_SEARCH_KEYWORD_FUSION)."""


@dataclass
class Container:
    """Everything an entrypoint needs; entrypoints never construct adapters themselves."""

    settings: Settings
    clock: Clock
    ids: IdGenerator
    hasher: PasswordHasher
    tokens: TokenService
    uow: UnitOfWorkFactory
    redis: aioredis.Redis
    metrics: Metrics
    metrics_registry: CollectorRegistry | None
    telemetry: Telemetry
    knowledge: Knowledge
    cache: Cache
    queue: TaskQueue
    sender: WebhookSender
    validate_webhook_url: Callable[[str], None]
    new_webhook_secret: Callable[[], str]
    rate_limiter: RateLimiter
    rate_policies: RatePolicies
    generations: GenerationReader
    sentence_spans: SentenceSpans
    sentences: Sentences
    accounts: AccountStates
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    database: PostgresDatabase | None = None
    """The PostgreSQL pools when the unit of work runs on them (replica status for
    `/health/ready`); None on the in-memory twin."""
    check_text_encoding: Callable[[BinaryIO, bool], object] = field(
        default=lambda file, html: require_text(file, html=html)
    )
    """Raises `UndecodableText` unless the seekable text `file` decodes (`html`: its
    declared charset counts), `InvalidInput` when it is all blank; blocking I/O."""
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    chat_model: ChatModel = field(kw_only=True)
    budget_ledger: BudgetLedger = field(kw_only=True)
    speech_engines: SpeechEngines = field(kw_only=True, default_factory=SpeechEngines)
    """The speech engines `speech` is wired over (all off by default)."""

    def __post_init__(self) -> None:
        uow, clock, ids = self.uow, self.clock, self.ids
        issuer = TokenIssuer(self.tokens, clock, ids, self.settings.auth.refresh_token_ttl_s)
        self.login = Login(uow, self.hasher, issuer)
        self.refresh = Refresh(uow, clock, issuer, self.settings.auth.jwt_secret.encode())
        self.logout = Logout(uow, clock)
        self.authenticate = Authenticate(self.tokens, self.accounts)
        self.end_sessions = EndSessions(uow, clock, self.accounts)
        self.change_own_password = ChangeOwnPassword(uow, self.hasher, clock, issuer, self.accounts)
        self.create_dealership = CreateDealership(uow, clock, ids)
        self.get_dealership = GetDealership(uow)
        self.list_dealerships = ListDealerships(uow)
        self.update_dealership = UpdateDealership(uow, clock, self.accounts)
        self.create_user = CreateUser(uow, self.hasher, clock, ids)
        self.get_user = GetUser(uow)
        self.list_users = ListUsers(uow)
        self.update_user = UpdateUser(uow, self.hasher, clock, self.accounts)
        self.scenarios, self.assignments, self.rubrics, self.analytics = training_use_cases(
            uow, clock, ids
        )

        dispatcher = TaskDispatcher(self.queue, clock, ids)
        self.upload_document = UploadDocument(uow, dispatcher, clock, ids)
        self.get_document = GetDocument(uow)
        self.get_passage = GetPassage(uow)
        self.list_documents = ListDocuments(uow)
        self.delete_document = DeleteDocument(uow, dispatcher, clock)
        self.retry_document = RetryDocument(uow, dispatcher, clock)

        k = self.knowledge
        self.ingest_document = IngestDocument(
            uow,
            k.extractor,
            k.chunker,
            k.embedder,
            k.index,
            clock,
            ids,
            self.telemetry,
            k.options,
            spool=k.spool,
            passage_text=k.passage_text,
            profiles=k.profiles,
        )
        self.mark_failed = MarkFailed(uow, clock, ids)
        self.purge_document = PurgeDocument(uow, k.index, clock, ids)
        self.reconcile_documents = ReconcileDocuments(
            uow, self.queue, clock, queued_timeout=k.queued_timeout
        )
        self.relay_outbox = RelayOutbox(uow, self.queue, clock, ids)
        self._wire_reembedding()
        self.purge_idempotency_keys = PurgeIdempotencyKeys(
            uow, clock, timedelta(seconds=self.settings.http.idempotency_key_ttl_s)
        )
        retriever = knowledge_base_retriever(
            uow,
            k.profiles,
            k.index,
            cache=self.cache,
            telemetry=self.telemetry,
            clock=clock,
            options=cache_options(self.settings),
            keywords=k.keywords,
            sparse=self.settings.search.sparse_fusion,
        )
        self.search = SearchKnowledgeBase(self.generations, retriever, self.telemetry, clock)
        self.scoring = wire_scoring(self, self.rubrics.catalog)  # suggests through `search`

        self.enforce_rate_limits = EnforceRateLimits(
            self.rate_limiter, self.rate_policies, self.telemetry
        )
        self.create_subscription = CreateSubscription(
            uow, clock, ids, self.validate_webhook_url, self.new_webhook_secret
        )
        self.list_subscriptions = ListSubscriptions(uow)
        self.get_subscription = GetSubscription(uow)
        self.delete_subscription = DeleteSubscription(uow)
        self._wire_webhook_delivery()

        self._wire_usage()
        self.knowledge_gaps = gaps = wire_knowledge_gaps(self)
        self.start_conversation = StartConversation(uow, clock, self.ids)
        self.list_conversations = ListConversations(uow)
        self.get_conversation = GetConversation(uow)
        self.send_message = SendMessage(
            uow,
            self.search,
            self.chat_model,
            clock,
            self.ids,
            self.telemetry,
            CitationChecker(
                spans=self.sentence_spans,
                sentences=self.sentences,
                embed=self.knowledge.embedder.embed,
                threshold=support_threshold(self.settings),
            ),
            chat_options(self.settings),
            answers=SharedAnswerCache(
                self.cache, self.telemetry, clock, answer_cache_options(self.settings)
            ),
            budget=self.usage_budget,
            gaps=gaps.recorder,
        )
        self.rate_message = RateMessage(uow, clock, self.ids, self.telemetry, gaps.recorder)
        self.list_feedback = ListFeedback(uow)

    def _wire_usage(self) -> None:
        """The budget, the usage report, and speech (its seconds count against it)."""
        self.usage_budget = UsageBudget(
            self.uow,
            self.budget_ledger,
            self.clock,
            self.ids,
            self.telemetry,
            default_budget=self.settings.usage.monthly_token_budget,
        )
        self.get_usage = GetUsage(self.uow, self.usage_budget, self.clock)
        self.speech = wire_speech(self, self.speech_engines)

    def _wire_reembedding(self) -> None:
        k, uow, clock = self.knowledge, self.uow, self.clock
        reembedding = reembedding_options(self.settings)
        self.start_reembedding = StartReembedding(uow, k.profiles, self.queue, clock, reembedding)
        self.run_reembedding = RunReembedding(
            uow, k.profiles, k.index, clock, self.ids, self.telemetry, reembedding
        )
        self.reconcile_reembeddings = ReconcileReembeddings(uow, self.queue, clock)
        self.list_reembeddings = ListReembeddings(uow, k.profiles)
        self.get_reembedding = GetReembedding(uow)

    def _wire_webhook_delivery(self) -> None:
        hooks = self.settings.webhooks
        self.deliver_webhook = DeliverWebhook(
            self.uow,
            self.sender,
            self.queue,
            self.clock,
            self.ids,
            self.telemetry,
            DeliveryPolicy(
                max_retries=hooks.max_retries,
                min_backoff=timedelta(milliseconds=hooks.min_backoff_ms),
                max_backoff=timedelta(milliseconds=hooks.max_backoff_ms),
                lease=timedelta(seconds=2 * hooks.timeout_s + 10),
                circuit_failures=hooks.circuit_failures,
                circuit_cooldown=timedelta(seconds=hooks.circuit_cooldown_s),
            ),
        )
        self.redrive_webhooks = RedriveDeliveries(
            self.uow,
            self.queue,
            self.clock,
            overdue_after=timedelta(seconds=hooks.redrive_after_s),
        )
        self.rotate_webhook_secret = RotateSecret(
            self.uow,
            self.clock,
            self.new_webhook_secret,
            timedelta(seconds=hooks.rotation_grace_s),
        )

    async def start(self) -> None:
        for hook in self.startup:
            await hook()

    async def warm_up(self, *, chat_model: bool = False) -> None:
        """Loads, off the event loop, what the first task or request would otherwise
        wait for: the local embedding model (seconds), the models of the other vector
        profiles dealerships are on (`warm_profiles_in_use`) and, with `chat_model` (the
        API; the worker never chats), a local chat model (seconds) and the speech engines
        (whose failure only logs `speech_warm_up_failed`).

        Raises what loading raises (EmbedderUnavailable, ChatModelUnavailable for a
        missing or broken model).
        """
        models = [undecorated(self.knowledge.embedder)]
        if chat_model:
            models.append(undecorated(self.chat_model))
        for model in models:
            if isinstance(model, WarmsUp):
                await asyncio.to_thread(model.warm_up)
        await warm_profiles_in_use(self.uow, self.knowledge.profiles)
        if chat_model:
            await self.speech.warm_up(self.telemetry.event)

    async def close(self) -> None:
        for hook in reversed(self.shutdown):
            await hook()
