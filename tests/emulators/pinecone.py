"""A local emulation of Pinecone's published data-plane REST API, for tests.

It serves what the `pinecone` SDK's index client calls for dense vectors:
POST /vectors/upsert, POST /query, POST /vectors/delete (ids, deleteAll, filter),
POST /describe_index_stats, GET /vectors/list (prefix, pagination), GET /vectors/fetch.
It enforces the service's published request limits (1,000 vectors and 2 MB per upsert,
1,000 ids per delete, 40 KB of metadata per vector, 100 ids per list page, 10,000
values per `$in`/`$nin` filter operator), the index
dimension, the index's metric (cosine: an upsert carrying sparse values is refused, as
the service refuses them on any index but a dotproduct or sparse one) and the `Api-Key`
header, so a client that batches wrongly or sends the wrong
dimension fails here as it would against the real service. Metadata filters support
`$eq`, `$ne`, `$in`, `$nin`, `$and`, `$or` and bare-value equality.

Knobs that tests turn: `supports_delete_by_filter=False` and `supports_list=False`
mimic index kinds without those operations; `fail_next(n, status)` answers the next n
requests with an error status (rate limiting, outages). `requests` logs every request.
"""

from __future__ import annotations

import base64
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import msgspec
import uvicorn

MAX_UPSERT_VECTORS = 1000
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_DELETE_IDS = 1000
MAX_METADATA_BYTES = 40 * 1024
MAX_LIST_LIMIT = 100
MAX_TOP_K = 10_000
MAX_FILTER_VALUES = 10_000

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class EmulatorError(Exception):
    def __init__(self, status: int, message: str, code: int = 3) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    body_bytes: int
    vector_count: int
    status: int


@dataclass
class StoredVector:
    values: list[float]
    metadata: dict[str, Any]


def _cosine(left: list[float], right: list[float]) -> float:
    dot = math.fsum(x * y for x, y in zip(left, right, strict=True))
    norms = math.sqrt(math.fsum(x * x for x in left) * math.fsum(y * y for y in right))
    return 0.0 if norms == 0.0 else dot / norms


_OPERATORS = frozenset({"$eq", "$ne", "$in", "$nin"})


def check_filter(filter_: Mapping[str, Any]) -> None:
    """Refuses, as the service does, an unknown operator or an oversized `$in`/`$nin`."""
    for key, condition in filter_.items():
        if key in ("$and", "$or"):
            for part in condition:
                check_filter(part)
        elif isinstance(condition, Mapping):
            for operator, operand in condition.items():
                if operator not in _OPERATORS:
                    raise EmulatorError(400, f"unsupported filter operator {operator}")
                if operator in ("$in", "$nin") and not isinstance(operand, list):
                    raise EmulatorError(400, f"{operator} takes an array")
                if operator in ("$in", "$nin") and len(operand) > MAX_FILTER_VALUES:
                    raise EmulatorError(
                        400,
                        f"{operator} accepts at most {MAX_FILTER_VALUES} values, "
                        f"got {len(operand)}",
                    )


def _matches_condition(value: Any, condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return bool(value == condition)
    tests: dict[str, Callable[[Any], bool]] = {
        "$eq": lambda operand: value == operand,
        "$ne": lambda operand: value != operand,
        "$in": lambda operand: value in operand,
        "$nin": lambda operand: value not in operand,
    }
    return all(tests[operator](operand) for operator, operand in condition.items())


def matches_filter(metadata: Mapping[str, Any], filter_: Mapping[str, Any]) -> bool:
    for key, condition in filter_.items():
        if key == "$and":
            if not all(matches_filter(metadata, part) for part in condition):
                return False
        elif key == "$or":
            if not any(matches_filter(metadata, part) for part in condition):
                return False
        elif key not in metadata or not _matches_condition(metadata[key], condition):
            return False
    return True


@dataclass
class PineconeEmulator:
    """State and ASGI app of one emulated index (metric: cosine)."""

    dimension: int
    api_key: str = "test-api-key"
    supports_delete_by_filter: bool = True
    supports_list: bool = True
    namespaces: dict[str, dict[str, StoredVector]] = field(default_factory=dict)
    requests: list[LoggedRequest] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode())
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        vector_count = 0
        try:
            payload, vector_count = self._handle(method, path, headers, query, bytes(body))
            status = 200
        except EmulatorError as exc:
            status, payload = exc.status, {"code": exc.code, "message": exc.message, "details": []}
        self.requests.append(LoggedRequest(method, path, len(body), vector_count, status))
        encoded = msgspec.json.encode(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(encoded)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": encoded})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _handle(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        query: Mapping[str, list[str]],
        body: bytes,
    ) -> tuple[Any, int]:
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
                raise EmulatorError(status, "emulated failure", code=14)
        if headers.get("api-key") != self.api_key:
            raise EmulatorError(401, "Invalid API Key", code=16)
        if len(body) > MAX_REQUEST_BYTES:
            raise EmulatorError(
                413,
                f"Request size {len(body)} bytes exceeds the maximum supported size of 2MB",
                code=11,
            )
        data: dict[str, Any] = msgspec.json.decode(body) if body else {}
        with self._lock:
            if (method, path) == ("POST", "/vectors/upsert"):
                return self._upsert(data), len(data.get("vectors", []))
            if (method, path) == ("POST", "/query"):
                return self._query(data), 0
            if (method, path) == ("POST", "/vectors/delete"):
                return self._delete(data), len(data.get("ids") or [])
            if (method, path) == ("POST", "/describe_index_stats"):
                return self._stats(data), 0
            if (method, path) == ("GET", "/vectors/list"):
                return self._list(query), 0
            if (method, path) == ("GET", "/vectors/fetch"):
                return self._fetch(query), 0
        raise EmulatorError(404, f"no route {method} {path}", code=5)

    def _check_values(self, values: Any) -> list[float]:
        if not isinstance(values, list) or len(values) != self.dimension:
            actual = len(values) if isinstance(values, list) else 0
            raise EmulatorError(
                400,
                f"Vector dimension {actual} does not match the dimension of the index "
                f"{self.dimension}",
            )
        return [float(value) for value in values]

    def _upsert(self, data: Mapping[str, Any]) -> dict[str, Any]:
        vectors = data.get("vectors", [])
        if len(vectors) > MAX_UPSERT_VECTORS:
            raise EmulatorError(
                400, f"Batch size {len(vectors)} exceeds the maximum of {MAX_UPSERT_VECTORS}"
            )
        staged: dict[str, StoredVector] = {}
        for vector in vectors:
            if vector.get("sparseValues") or vector.get("sparse_values"):
                raise EmulatorError(
                    400,
                    "Index configuration does not support sparse values - only indexes "
                    "that are sparse or using dotproduct are supported",
                )
            metadata = vector.get("metadata") or {}
            if len(msgspec.json.encode(metadata)) > MAX_METADATA_BYTES:
                raise EmulatorError(400, "Metadata size exceeds the limit of 40960 bytes")
            staged[vector["id"]] = StoredVector(self._check_values(vector["values"]), metadata)
        self.namespaces.setdefault(data.get("namespace", ""), {}).update(staged)
        return {"upsertedCount": len(staged)}

    def _query(self, data: Mapping[str, Any]) -> dict[str, Any]:
        top_k = int(data.get("topK", 0))
        if not 1 <= top_k <= MAX_TOP_K:
            raise EmulatorError(400, f"topK must be between 1 and {MAX_TOP_K}")
        namespace = data.get("namespace", "")
        vector = self._check_values(data.get("vector"))
        filter_ = data.get("filter") or {}
        check_filter(filter_)
        scored = [
            (_cosine(stored.values, vector), vector_id, stored)
            for vector_id, stored in self.namespaces.get(namespace, {}).items()
            if matches_filter(stored.metadata, filter_)
        ]
        scored.sort(key=lambda item: (-item[0], item[1]))
        matches = []
        for score, vector_id, stored in scored[:top_k]:
            match: dict[str, Any] = {"id": vector_id, "score": score, "values": []}
            if data.get("includeValues"):
                match["values"] = stored.values
            if data.get("includeMetadata"):
                match["metadata"] = stored.metadata
            matches.append(match)
        return {"matches": matches, "namespace": namespace, "usage": {"readUnits": 1}}

    def _delete(self, data: Mapping[str, Any]) -> dict[str, Any]:
        namespace = data.get("namespace", "")
        ids, delete_all, filter_ = data.get("ids"), data.get("deleteAll"), data.get("filter")
        if sum(bool(selector) for selector in (ids, delete_all, filter_)) != 1:
            raise EmulatorError(400, "Exactly one of ids, deleteAll or filter must be set")
        stored = self.namespaces.get(namespace, {})
        if ids:
            if len(ids) > MAX_DELETE_IDS:
                raise EmulatorError(400, f"Cannot delete more than {MAX_DELETE_IDS} ids")
            for vector_id in ids:
                stored.pop(vector_id, None)
        elif delete_all:
            stored.clear()
        else:
            assert filter_ is not None  # the one selector set
            check_filter(filter_)
            if not self.supports_delete_by_filter:
                raise EmulatorError(
                    400, "Serverless and Starter indexes do not support deleting with metadata"
                )
            for vector_id in [k for k, v in stored.items() if matches_filter(v.metadata, filter_)]:
                del stored[vector_id]
        return {}

    def _stats(self, data: Mapping[str, Any]) -> dict[str, Any]:
        filter_ = data.get("filter") or {}
        check_filter(filter_)
        namespaces = {
            name: {
                "vectorCount": sum(
                    1 for stored in vectors.values() if matches_filter(stored.metadata, filter_)
                )
            }
            for name, vectors in self.namespaces.items()
            if vectors
        }
        return {
            "namespaces": namespaces,
            "dimension": self.dimension,
            "indexFullness": 0.0,
            "totalVectorCount": sum(entry["vectorCount"] for entry in namespaces.values()),
            "metric": "cosine",
            "vectorType": "dense",
        }

    def _list(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        if not self.supports_list:
            raise EmulatorError(400, "List is only supported for serverless indexes")
        namespace = query.get("namespace", [""])[0]
        prefix = query.get("prefix", [""])[0]
        limit = int(query.get("limit", [str(MAX_LIST_LIMIT)])[0])
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise EmulatorError(400, f"limit must be between 1 and {MAX_LIST_LIMIT}")
        token = query.get("paginationToken", [None])[0]
        after = base64.urlsafe_b64decode(token).decode() if token else None
        ids = sorted(
            vector_id
            for vector_id in self.namespaces.get(namespace, {})
            if vector_id.startswith(prefix) and (after is None or vector_id > after)
        )
        page = ids[:limit]
        response: dict[str, Any] = {
            "vectors": [{"id": vector_id} for vector_id in page],
            "namespace": namespace,
            "usage": {"readUnits": 1},
        }
        if len(ids) > limit:
            response["pagination"] = {"next": base64.urlsafe_b64encode(page[-1].encode()).decode()}
        return response

    def _fetch(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        namespace = query.get("namespace", [""])[0]
        stored = self.namespaces.get(namespace, {})
        vectors = {
            vector_id: {
                "id": vector_id,
                "values": stored[vector_id].values,
                "metadata": stored[vector_id].metadata,
            }
            for vector_id in query.get("ids", [])
            if vector_id in stored
        }
        return {"vectors": vectors, "namespace": namespace, "usage": {"readUnits": 1}}


@contextmanager
def running_pinecone_emulator(emulator: PineconeEmulator) -> Iterator[str]:
    """Serves `emulator` on 127.0.0.1 (a free port) in a thread; yields its host URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(emulator, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the Pinecone emulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
