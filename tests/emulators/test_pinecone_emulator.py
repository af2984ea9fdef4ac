"""The emulator enforces the service's limits; otherwise adapter tests prove nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.emulators.pinecone import (
    MAX_FILTER_VALUES,
    MAX_REQUEST_BYTES,
    PineconeEmulator,
    running_pinecone_emulator,
)


@pytest.fixture
def served() -> Iterator[tuple[PineconeEmulator, httpx.Client]]:
    emulator = PineconeEmulator(dimension=2)
    with (
        running_pinecone_emulator(emulator) as host,
        httpx.Client(base_url=host, headers={"Api-Key": emulator.api_key}) as client,
    ):
        yield emulator, client


def vectors(count: int, *, padding: str = "") -> list[dict[str, Any]]:
    return [
        {"id": f"v{i}{padding}", "values": [1.0, float(i)], "metadata": {"topic": "books"}}
        for i in range(count)
    ]


def test_upsert_of_1001_vectors_is_rejected(served: tuple[PineconeEmulator, httpx.Client]) -> None:
    emulator, client = served

    response = client.post("/vectors/upsert", json={"vectors": vectors(1001), "namespace": "a"})

    assert response.status_code == 400
    assert emulator.namespaces.get("a", {}) == {}


def test_request_over_two_megabytes_is_rejected(
    served: tuple[PineconeEmulator, httpx.Client],
) -> None:
    emulator, client = served
    body = {"vectors": vectors(500, padding="x" * 4500), "namespace": "a"}

    response = client.post("/vectors/upsert", json=body)

    assert response.status_code == 413
    assert emulator.requests[-1].body_bytes > MAX_REQUEST_BYTES


def test_wrong_api_key_is_rejected(served: tuple[PineconeEmulator, httpx.Client]) -> None:
    _, client = served

    response = client.post("/describe_index_stats", json={}, headers={"Api-Key": "nope"})

    assert response.status_code == 401


def test_wrong_dimension_is_rejected(served: tuple[PineconeEmulator, httpx.Client]) -> None:
    _, client = served

    response = client.post(
        "/vectors/upsert", json={"vectors": [{"id": "x", "values": [1.0, 2.0, 3.0]}]}
    )

    assert response.status_code == 400
    assert "dimension" in response.json()["message"]


def test_sparse_values_are_rejected_by_the_cosine_index(
    served: tuple[PineconeEmulator, httpx.Client],
) -> None:
    emulator, client = served
    [vector] = vectors(1)
    vector["sparseValues"] = {"indices": [3, 17], "values": [0.5, 0.25]}

    response = client.post("/vectors/upsert", json={"vectors": [vector], "namespace": "a"})

    assert response.status_code == 400
    assert "sparse" in response.json()["message"]
    assert emulator.namespaces.get("a", {}) == {}


def test_query_filters_by_metadata_and_ranks_by_cosine(
    served: tuple[PineconeEmulator, httpx.Client],
) -> None:
    _, client = served
    client.post(
        "/vectors/upsert",
        json={
            "namespace": "a",
            "vectors": [
                {"id": "near", "values": [1.0, 0.1], "metadata": {"topic": "books"}},
                {"id": "far", "values": [0.0, 1.0], "metadata": {"topic": "books"}},
                {"id": "other", "values": [1.0, 0.0], "metadata": {"topic": "videos"}},
            ],
        },
    ).raise_for_status()

    response = client.post(
        "/query",
        json={
            "namespace": "a",
            "vector": [1.0, 0.0],
            "topK": 5,
            "filter": {"topic": {"$in": ["books"]}},
        },
    )

    assert [m["id"] for m in response.json()["matches"]] == ["near", "far"]


def test_query_excludes_by_nin_inside_the_search_so_top_k_counts_only_the_rest(
    served: tuple[PineconeEmulator, httpx.Client],
) -> None:
    _, client = served
    client.post(
        "/vectors/upsert",
        json={
            "namespace": "a",
            "vectors": [
                {"id": "hidden", "values": [1.0, 0.0], "metadata": {"document_id": "d1"}},
                {"id": "kept", "values": [1.0, 0.5], "metadata": {"document_id": "d2"}},
            ],
        },
    ).raise_for_status()

    response = client.post(
        "/query",
        json={
            "namespace": "a",
            "vector": [1.0, 0.0],
            "topK": 1,
            "filter": {"$and": [{"document_id": {"$nin": ["d1"]}}]},
        },
    )

    assert [m["id"] for m in response.json()["matches"]] == ["kept"]


@pytest.mark.parametrize("operator", ["$in", "$nin"])
def test_a_filter_operator_listing_more_than_10000_values_is_rejected(
    served: tuple[PineconeEmulator, httpx.Client], operator: str
) -> None:
    _, client = served
    values = [f"d{i}" for i in range(MAX_FILTER_VALUES + 1)]

    response = client.post(
        "/query",
        json={"vector": [1.0, 0.0], "topK": 1, "filter": {"document_id": {operator: values}}},
    )

    assert response.status_code == 400
    assert str(MAX_FILTER_VALUES) in response.json()["message"]


def test_list_pages_through_ids_with_a_prefix(
    served: tuple[PineconeEmulator, httpx.Client],
) -> None:
    _, client = served
    client.post("/vectors/upsert", json={"namespace": "a", "vectors": vectors(150)})
    seen: list[str] = []
    token = None

    while True:
        params: dict[str, str | int] = {"namespace": "a", "prefix": "v1", "limit": 20}
        if token:
            params["paginationToken"] = token
        page = client.get("/vectors/list", params=params).json()
        seen.extend(v["id"] for v in page["vectors"])
        token = (page.get("pagination") or {}).get("next")
        if not token:
            break

    assert sorted(seen) == sorted(f"v{i}" for i in range(150) if str(i).startswith("1"))
