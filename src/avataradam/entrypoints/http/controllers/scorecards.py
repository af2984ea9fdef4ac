"""Completing a roleplay session, its scorecard, re-scoring it (issue 17)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.status_codes import HTTP_202_ACCEPTED

from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.schemas.scorecards import ScorecardOut, scorecard_out
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

DealershipParam = FromQuery[UUID | None]
_LOCATION = ResponseHeader(
    name="Location",
    value="/v1/conversations/{id}/scorecard",
    description="Where to poll the scorecard.",
    documentation_only=True,
)


def _accepted(body: ScorecardOut) -> Response[ScorecardOut]:
    return Response(
        body,
        status_code=HTTP_202_ACCEPTED,
        headers={"Location": f"/v1/conversations/{body.conversation_id}/scorecard"},
    )


class ScorecardController(Controller):
    path = "/v1/conversations"
    tags = ["scoring"]
    security = SECURITY

    @post(
        "/{conversation_id:uuid}/complete",
        status_code=HTTP_202_ACCEPTED,
        operation_id="completeConversation",
        summary="End a roleplay session and score it",
        description=(
            "The session's owner ends it: it takes no more messages (409 "
            "`conversation_completed`), and its scorecard, `pending`, is scored in the "
            "background against the latest version of its scenario's rubric, frozen now. "
            "Answers 202 with the scorecard and a `Location` to poll; completing again "
            "answers the same scorecard (never a second one). A training conversation is "
            "422 `not_a_roleplay`; another user's or dealership's, 404."
        ),
        response_headers=[_LOCATION],
        responses=problems(400, 403, 404, 422),
    )
    async def complete(
        self,
        conversation_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> Response[ScorecardOut]:
        card = await container.scoring.complete(principal, conversation_id)
        return _accepted(scorecard_out(card))

    @get(
        "/{conversation_id:uuid}/scorecard",
        operation_id="getScorecard",
        summary="Read a session's scorecard",
        description=(
            "`status`: `pending` (being scored), `scored` (`overall` 0-100, `passed`, "
            "blockers failed, Good/Fair/Poor per criterion with its checks and verbatim "
            "quotes of the trainee, keep / start / stop) or `failed` (`error`). The trainee "
            "reads their own, a dealership admin any of the dealership's (a super admin "
            "passes `dealership_id`); anyone else, or before completion, 404."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def read(
        self,
        conversation_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> ScorecardOut:
        card = await container.scoring.get(principal, conversation_id, dealership_id=dealership_id)
        return scorecard_out(card)

    @post(
        "/{conversation_id:uuid}/scorecard/rescore",
        status_code=HTTP_202_ACCEPTED,
        operation_id="rescoreConversation",
        summary="Score a completed session again",
        description=(
            "Dealership admins: the scorecard becomes `pending` and is scored again with its "
            "frozen rubric version and scorer, or with `?rubric=latest` the rubric's latest "
            "version, frozen anew. 202 with the scorecard and a `Location` to poll."
        ),
        response_headers=[_LOCATION],
        responses=problems(400, 403, 404, 422),
    )
    async def rescore(
        self,
        conversation_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        rubric: FromQuery[Literal["frozen", "latest"]] = "frozen",
        dealership_id: DealershipParam = None,
    ) -> Response[ScorecardOut]:
        card = await container.scoring.rescore(
            principal, conversation_id, rubric=rubric, dealership_id=dealership_id
        )
        return _accepted(scorecard_out(card))
