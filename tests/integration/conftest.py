"""Helpers for tests of the whole service over real PostgreSQL and Redis: API server
processes, problem bodies. The session's deployment (worker, client, accounts) is
tests/support/deployment.py, whose fixtures tests/conftest.py registers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import msgspec

from ops.harness.processes import free_port, wait_until_healthy
from tests.fixtures.openai_chat import API_KEY, FakeChatService, running_chat_server
from tests.support.deployment import (
    PASSWORD,
    Account,
    Tenant,
    new_tenant,
    service_environment,
    sign_in,
)
from tests.support.processes import ServiceProcess

__all__ = [
    "PASSWORD",
    "Account",
    "Tenant",
    "api_process",
    "api_processes",
    "chat_instances",
    "new_tenant",
    "problem",
    "service_environment",
    "sign_in",
]


def problem(response: httpx.Response) -> dict[str, object]:
    """The problem+json body of an error response (asserting its media type)."""
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = msgspec.json.decode(response.content)
    return body


@contextmanager
def api_processes(
    environment: Callable[[int], dict[str, str]],
    log_dir: Path,
    *,
    count: int = 2,
    ready: Callable[[str, ServiceProcess], None] | None = None,
) -> Iterator[list[str]]:
    """`count` `avataradam serve` processes, all started before any is awaited (they
    warm up side by side); yields their base URLs and stops them afterwards.

    `environment(port)` is a process's environment; `ready(url, process)` waits until
    it serves (default: `/health/live` within 90 s)."""
    processes: list[ServiceProcess] = []
    urls: list[str] = []
    try:
        for index in range(count):
            port = free_port()
            log = log_dir / f"api-{index}.log"
            processes.append(ServiceProcess(["serve"], environment(port), log).start())
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            if ready is None:
                wait_until_healthy(url, process, timeout_s=90)
            else:
                ready(url, process)
        yield urls
    finally:
        for process in processes:
            process.stop()


@contextmanager
def chat_instances(
    database_url: str, redis_url: str, log_dir: Path, count: int = 2
) -> Iterator[tuple[list[str], FakeChatService]]:
    """`count` API server processes sharing PostgreSQL, Redis and one fake OpenAI chat
    model (tests/fixtures/openai_chat.py, which records requests and reports usage)."""
    with running_chat_server() as (chat, chat_url):

        def environment(port: int) -> dict[str, str]:
            return service_environment(database_url, redis_url) | {
                "AVATARADAM_HTTP_PORT": str(port),
                "AVATARADAM_CHAT_MODEL": "openai",
                "AVATARADAM_CHAT_OPENAI_BASE_URL": chat_url,
                "AVATARADAM_CHAT_OPENAI_API_KEY": API_KEY,
                "AVATARADAM_CHAT_OPENAI_MODEL": "fake-chat",
            }

        with api_processes(environment, log_dir, count=count) as urls:
            yield urls, chat


@contextmanager
def api_process(environment: dict[str, str], log_dir: Path) -> Iterator[str]:
    """One `avataradam serve` process with `environment` on a port chosen here, once
    `/health/live` answers; yields its base URL and stops it afterwards."""
    with api_processes(
        lambda port: environment | {"AVATARADAM_HTTP_PORT": str(port)}, log_dir, count=1
    ) as [url]:
        yield url
