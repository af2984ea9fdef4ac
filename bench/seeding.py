"""Seeding: dealerships, users and the knowledge base every phase searches."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import httpx

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from bench import documents
from bench.harness import CORPUS, PASSWORD, Account, Bench, Tenant
from bench.stack import Server

# --------------------------------------------------------------------------- seeding


async def sign_in(http: httpx.AsyncClient, email: str) -> Account:
    token = await http.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    token.raise_for_status()
    access = token.json()["access_token"]
    me = await http.get("/v1/me", headers={"Authorization": f"Bearer {access}"})
    me.raise_for_status()
    return Account(me.json()["id"], me.json().get("dealership_id"), access)


async def seed(b: Bench, api: Server) -> None:
    async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as http:
        root = await super_admin(b, http)
        for n in range(5):
            b.tenants.append(await new_tenant(http, root, f"Bench Motors {n}"))


async def super_admin(b: Bench, http: httpx.AsyncClient) -> Account:
    """A new super admin (made in-process by the use case), signed in through `http`."""
    email = f"root-{uuid.uuid4().hex[:6]}@bench.example"
    await b.container.create_user.create(
        NewUser(email=email, password=PASSWORD, role=Role.SUPER_ADMIN), None
    )
    return await sign_in(http, email)


async def new_tenant(http: httpx.AsyncClient, root: Account, name: str) -> Tenant:
    """A dealership `name` with a dealership admin and a user, made by `root` (a super
    admin) through the API and signed in."""
    created = await http.post("/v1/dealerships", json={"name": name}, headers=root.auth)
    created.raise_for_status()
    dealership = created.json()["id"]
    accounts = []
    for role in ("dealership_admin", "user"):
        address = f"{role}-{uuid.uuid4().hex[:8]}@bench.example"
        made = await http.post(
            "/v1/users",
            json={
                "email": address,
                "password": PASSWORD,
                "role": role,
                "dealership_id": dealership,
            },
            headers=root.auth,
        )
        made.raise_for_status()
        accounts.append(await sign_in(http, address))
    return Tenant(dealership, accounts[0], accounts[1])


def multipart(filename: str, content: bytes, topic: str) -> tuple[bytes, str]:
    boundary = f"bench{uuid.uuid4().hex}"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="topic"\r\n\r\n{topic}\r\n'
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def upload(
    http: httpx.AsyncClient, account: Account, filename: str, content: bytes, topic: str
) -> dict[str, Any]:
    response = await http.post(
        "/v1/documents",
        files={"file": (filename, content, "application/octet-stream")},
        data={"topic": topic},
        headers=account.auth,
    )
    if response.status_code != 202:
        raise RuntimeError(f"upload of {filename} answered {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


async def wait_ready(
    http: httpx.AsyncClient,
    account: Account,
    document_id: str,
    timeout_s: float = 600,
    poll_s: float = 0.05,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = await http.get(f"/v1/documents/{document_id}", headers=account.auth)
        body: dict[str, Any] = response.json()
        if body.get("status") == "ready":
            return body
        if body.get("status") == "failed":
            raise RuntimeError(f"document {document_id} failed: {body}")
        await asyncio.sleep(poll_s)
    raise RuntimeError(f"document {document_id} not ready in {timeout_s}s")


def seconds_between(created: str, updated: str) -> float:
    return (datetime.fromisoformat(updated) - datetime.fromisoformat(created)).total_seconds()


async def load_knowledge(b: Bench, api: Server) -> None:
    """Every dealership gets a small knowledge base through the real pipeline."""
    started = time.perf_counter()
    pending: list[tuple[Tenant, str]] = []
    async with httpx.AsyncClient(base_url=api.base_url, timeout=120) as http:
        for n, tenant in enumerate(b.tenants):
            text = "\n\n".join(documents.paragraphs(b.q(80, 10), seed=100 + n)).encode()
            doc = await upload(
                http, tenant.admin, f"objections-{n}.txt", text, "objection_handling"
            )
            pending.append((tenant, doc["id"]))
            if not b.quick:
                pdf = (CORPUS / "pdflatex-4-pages.pdf").read_bytes()
                doc = await upload(http, tenant.admin, "guide.pdf", pdf, "books")
                pending.append((tenant, doc["id"]))
        chunks = 0
        for tenant, doc_id in pending:
            chunks += int((await wait_ready(http, tenant.user, doc_id))["chunk_count"])
    b.results["knowledge_base"] = {
        "dealerships": len(b.tenants),
        "documents": len(pending),
        "chunks": chunks,
        "load_s": round(time.perf_counter() - started, 1),
    }
