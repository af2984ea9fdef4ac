"""Webhook subscriptions of a dealership."""

from __future__ import annotations

from functools import partial
from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from avataradam.domain.model import WebhookSubscription
from avataradam.domain.usecases.webhooks import NewSubscription
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.idempotency import REPLAYED_HEADER, answered
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.pagination import list_page
from avataradam.entrypoints.http.params import CursorParam, IdempotencyKey, Limit, OrderParam
from avataradam.entrypoints.http.schemas.common import ListResponse, to_out
from avataradam.entrypoints.http.schemas.webhooks import (
    WebhookCreate,
    WebhookDeliveryOut,
    WebhookDetailOut,
    WebhookOut,
)
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal


def _out(subscription: WebhookSubscription, *, with_secret: bool = False) -> WebhookOut:
    """The subscription's body; its `secret` only when asked (creation, rotation)."""
    return to_out(subscription, WebhookOut, secret=subscription.secret if with_secret else None)


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]
    security = SECURITY

    @post(
        operation_id="createWebhook",
        summary="Subscribe a URL to events",
        description=(
            "Events: `document.ready`, `document.failed`, `document.deleted`, "
            "`usage.budget_threshold`, `conversation.scored`, `assignment.completed`, "
            "`assignment.overdue`. The answer "
            "carries the signing `secret` (`whsec_…`), shown only here (and by a rotation). "
            "Deliveries "
            "are signed per the Standard Webhooks spec (`webhook-id`, `webhook-timestamp`, "
            "`webhook-signature`). URLs must be http(s) — https where the deployment requires "
            "it (`AVATARADAM_WEBHOOKS_HTTPS_ONLY`, on in production by default) — and, unless "
            "the deployment allows it, "
            "not point at a private address (422); link-local and cloud metadata addresses "
            "are refused whatever the deployment allows. With an `Idempotency-Key`, repeats "
            "replay the first answer, secret included. Admins only."
        ),
        response_headers=[REPLAYED_HEADER],
        responses=problems(400, 403, 404, 413, 422),
    )
    async def create(
        self,
        data: JSONBody[WebhookCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[WebhookOut]:
        answer = await container.create_subscription(
            principal,
            NewSubscription(
                url=data.url, events=tuple(data.events), dealership_id=data.dealership_id
            ),
            idempotency_key=idempotency_key,
        )
        return answered(answer, _out(answer.value, with_secret=True), HTTP_201_CREATED)

    @get(
        operation_id="listWebhooks",
        summary="List webhook subscriptions",
        description="Admins only; secrets are never listed. A super admin passes `dealership_id`.",
        responses=problems(400, 403, 404, 422),
    )
    async def list_webhooks(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: FromQuery[UUID | None] = None,
        cursor: CursorParam = None,
        limit: Limit = None,
        order: OrderParam = "oldest",
    ) -> ListResponse[WebhookOut]:
        return await list_page(
            partial(container.list_subscriptions, principal, dealership_id=dealership_id),
            cursor,
            limit,
            render=_out,
            order=order,
        )

    @get(
        "/{webhook_id:uuid}",
        operation_id="getWebhook",
        summary="Read a subscription and its delivery log",
        description=(
            "Recent deliveries with their status, attempts, last error and, while pending, "
            "`next_attempt_at`; a `subscription.disabled` entry records why an inactive "
            "subscription was disabled. Admins only."
        ),
        responses=problems(400, 403, 404),
    )
    async def read(
        self,
        webhook_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> WebhookDetailOut:
        subscription, deliveries = await container.get_subscription(principal, webhook_id)
        return WebhookDetailOut(
            subscription=_out(subscription),
            deliveries=[
                to_out(d, WebhookDeliveryOut, next_attempt_at=d.due_at) for d in deliveries
            ],
        )

    @post(
        "/{webhook_id:uuid}/rotate-secret",
        operation_id="rotateWebhookSecret",
        summary="Rotate the signing secret",
        description=(
            "Answers the subscription with its new `secret` (shown only now). Until "
            "`previous_secret_expires_at` (`AVATARADAM_WEBHOOKS_ROTATION_GRACE_S`, a day by "
            "default) every delivery is signed with both secrets, the new one first, in one "
            "`webhook-signature` header: switch your receiver to the new secret within that "
            "time. Rotating again ends the older secret's grace at once. Admins only."
        ),
        status_code=HTTP_200_OK,
        responses=problems(400, 403, 404),
    )
    async def rotate_secret(
        self,
        webhook_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> WebhookOut:
        rotated = await container.rotate_webhook_secret(principal, webhook_id)
        return _out(rotated, with_secret=True)

    @delete(
        "/{webhook_id:uuid}",
        operation_id="deleteWebhook",
        summary="Unsubscribe",
        description="No further events are delivered to the URL. Admins only.",
        responses=problems(400, 403, 404),
    )
    async def remove(
        self,
        webhook_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> None:
        await container.delete_subscription(principal, webhook_id)
