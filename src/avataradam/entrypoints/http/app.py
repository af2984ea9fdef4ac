"""Litestar application factory."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.response import Redirect

from avataradam.domain.access import Principal
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.controllers.admin import DealershipController, UserController
from avataradam.entrypoints.http.controllers.health import HealthController
from avataradam.entrypoints.http.controllers.identity import AuthController, MeController
from avataradam.entrypoints.http.problems import EXCEPTION_HANDLERS
from avataradam.entrypoints.http.security import COMPONENTS, principal_from_request

API_VERSION = "1.0.0"


@get("/docs", include_in_schema=False)
async def docs_redirect() -> Redirect:
    return Redirect(path="/schema/swagger")


def create_app(container: Container) -> Litestar:
    """Builds the API around an already wired container; the app owns its lifecycle."""

    def provide_container() -> Container:
        return container

    def provide_principal(request: Request[Any, Any, Any]) -> Principal:
        return principal_from_request(request, container.tokens)

    return Litestar(
        route_handlers=[
            AuthController,
            MeController,
            DealershipController,
            UserController,
            HealthController,
            docs_redirect,
        ],
        dependencies={
            "container": Provide(provide_container, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        on_startup=[container.start],
        on_shutdown=[container.close],
        openapi_config=OpenAPIConfig(
            title="AvatarAdam API",
            version=API_VERSION,
            description="Backend of Adam, the AI F&I trainer avatar for car dealerships.",
            path="/schema",
            components=COMPONENTS,
            render_plugins=[
                JsonRenderPlugin(path="/openapi.json"),
                YamlRenderPlugin(path="/openapi.yaml"),
                SwaggerRenderPlugin(path="/swagger"),
            ],
        ),
        request_max_body_size=container.settings.http.max_request_body_bytes,
        debug=False,
    )
