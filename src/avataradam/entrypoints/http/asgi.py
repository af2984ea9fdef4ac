"""ASGI factory for servers started by import string (`uvicorn --factory`, granian)."""

from __future__ import annotations

from litestar import Litestar

from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings


def create() -> Litestar:
    return create_app(build_container(load_settings()))
