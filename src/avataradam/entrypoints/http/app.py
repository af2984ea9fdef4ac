"""Litestar application factory."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from avataradam.adapters.observability.multiprocess import render_metrics
from avataradam.domain.access import Principal
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.bodytimeout import BodyReadTimeoutMiddleware
from avataradam.entrypoints.http.controllers.admin import DealershipController, UserController
from avataradam.entrypoints.http.controllers.analytics import AnalyticsController
from avataradam.entrypoints.http.controllers.assignments import AssignmentController
from avataradam.entrypoints.http.controllers.conversations import (
    ConversationController,
    FeedbackController,
)
from avataradam.entrypoints.http.controllers.documents import DocumentController
from avataradam.entrypoints.http.controllers.health import HealthController
from avataradam.entrypoints.http.controllers.identity import AuthController, MeController
from avataradam.entrypoints.http.controllers.knowledge_gaps import KnowledgeGapController
from avataradam.entrypoints.http.controllers.reembeddings import ReembeddingController
from avataradam.entrypoints.http.controllers.rubrics import RubricController
from avataradam.entrypoints.http.controllers.scenarios import ScenarioController
from avataradam.entrypoints.http.controllers.scorecards import ScorecardController
from avataradam.entrypoints.http.controllers.search import SearchController
from avataradam.entrypoints.http.controllers.speech import (
    SpeechController,
    TranscriptionController,
)
from avataradam.entrypoints.http.controllers.usage import UsageController
from avataradam.entrypoints.http.controllers.webhooks import WebhookController
from avataradam.entrypoints.http.headers import RequestHeadersMiddleware, document_http_semantics
from avataradam.entrypoints.http.methods import HttpSemanticsMiddleware, RouteTable, cors_config
from avataradam.entrypoints.http.openapi import TAGS, finish_openapi
from avataradam.entrypoints.http.problems import EXCEPTION_HANDLERS
from avataradam.entrypoints.http.ratelimit import (
    PRINCIPAL,
    RateLimitHeadersMiddleware,
    rate_limit_hook,
)
from avataradam.entrypoints.http.security import COMPONENTS, principal_from_request
from avataradam.entrypoints.http.warmup import WarmUp
from avataradam.entrypoints.http.webclient import WebClient, default_web_dir
from avataradam.entrypoints.observability.middleware import instrument_app

API_VERSION = "1.0.0"
SWAGGER_UI = "/swagger-ui"
"""Where the web client's build serves Swagger UI's files (`swagger-ui-dist` from npm,
copied by ops/build-web.sh): `/docs` fetches nothing from the internet."""


@get("/docs", include_in_schema=False)
async def docs_redirect() -> Redirect:
    return Redirect(path="/schema/swagger")


def create_app(
    container: Container,
    *,
    server_process: bool = False,
    extra_routes: Sequence[ControllerRouterHandler] = (),
) -> Litestar:
    """Builds the API around an already wired container; the app owns its lifecycle.

    `server_process`: the app is the one app of a server process (the ASGI factory).
    It then warms the embedder and a local chat model up in the background and freezes
    the heap out of the garbage collector's reach when warm (see `warmup.py`); embedded
    apps (tests) are ready at once and leave process-wide state alone.
    `extra_routes`: handlers served beside the API's own with its middleware, auth and
    rate limits (the benchmark's floor route; nothing in production passes any).
    """
    warm_up = WarmUp(partial(container.warm_up, chat_model=True) if server_process else None)

    def provide_container() -> Container:
        return container

    def provide_warm_up() -> WarmUp:
        return warm_up

    async def authenticate(request: Request[Any, Any, Any]) -> Principal:
        """Authenticates once per request (the rate-limit hook may have done it)."""
        state = request.scope.setdefault("state", {})
        principal = state.get(PRINCIPAL)
        if principal is None:
            principal = state[PRINCIPAL] = await principal_from_request(
                request, container.authenticate
            )
        return principal

    async def provide_principal(
        request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Principal:
        # Depending on `container` makes Litestar resolve the two one after the other
        # instead of in a task group per request (measured hot spot of cached search).
        del container
        return await authenticate(request)

    @get("/metrics", include_in_schema=False, sync_to_thread=False)
    def metrics() -> Response[bytes]:
        body, content_type = render_metrics(container.metrics_registry)
        return Response(body, media_type=content_type)

    cors = cors_config(container.settings.http.cors_origin_list)
    uploads = Router(
        path="/",
        route_handlers=[DocumentController],
        request_max_body_size=container.settings.ingestion.max_upload_bytes + 1024 * 1024,
    )
    recordings = Router(
        path="/",
        route_handlers=[TranscriptionController],
        # The multipart envelope around the recording is a few hundred bytes.
        request_max_body_size=container.settings.speech.max_upload_bytes + 64 * 1024,
    )
    app = Litestar(
        route_handlers=[
            AuthController,
            MeController,
            DealershipController,
            UserController,
            ReembeddingController,
            uploads,
            SearchController,
            WebhookController,
            ConversationController,
            ScenarioController,
            AssignmentController,
            ScorecardController,
            RubricController,
            FeedbackController,
            UsageController,
            AnalyticsController,
            KnowledgeGapController,
            SpeechController,
            recordings,
            HealthController,
            docs_redirect,
            metrics,
            *extra_routes,
        ],
        dependencies={
            "container": Provide(provide_container, sync_to_thread=False),
            "principal": Provide(provide_principal),
            "warm_up": Provide(provide_warm_up, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_request=rate_limit_hook(container.enforce_rate_limits, authenticate),
        middleware=[
            RequestHeadersMiddleware,
            DefineMiddleware(
                BodyReadTimeoutMiddleware, timeout_s=container.settings.http.body_timeout_s
            ),
            RateLimitHeadersMiddleware,
        ],
        cors_config=cors,
        on_startup=[container.start, warm_up.start],
        on_shutdown=[warm_up.stop, container.close],
        openapi_config=OpenAPIConfig(
            title="AvatarAdam API",
            version=API_VERSION,
            description=(
                "Backend of Adam, the AI F&I trainer avatar for car dealerships. Errors are "
                "RFC 9457 `application/problem+json` with a stable `code`; every answer carries "
                "`X-Request-ID`. Authenticate with `Authorization: Bearer <access token>` from "
                "`POST /v1/auth/token`."
            ),
            path="/schema",
            components=COMPONENTS,
            tags=TAGS,
            render_plugins=[
                JsonRenderPlugin(path="/openapi.json"),
                YamlRenderPlugin(path="/openapi.yaml"),
                SwaggerRenderPlugin(
                    path="/swagger",
                    # served from the web client's build (ops/build-web.sh), no CDN
                    js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
                    css_url=f"{SWAGGER_UI}/swagger-ui.css",
                    standalone_preset_js_url=f"{SWAGGER_UI}/swagger-ui-standalone-preset.js",
                    favicon="",
                ),
            ],
        ),
        request_max_body_size=container.settings.http.max_request_body_bytes,
        debug=False,
        logging_config=None,
    )
    document_http_semantics(app.openapi_schema)
    finish_openapi(app.openapi_schema)
    web_dir = container.settings.http.web_dir
    app.asgi_handler = WebClient(
        HttpSemanticsMiddleware(app.asgi_handler, RouteTable(app), cors),
        Path(web_dir) if web_dir else default_web_dir(),
    )
    return instrument_app(app, metrics=container.metrics)
