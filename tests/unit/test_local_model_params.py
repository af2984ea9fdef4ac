"""The parameters the local llama.cpp server is started with, built without loading a
model (xllamacpp's own `CommonParams`, so a renamed field fails here)."""

from __future__ import annotations

import importlib.util

import pytest

from avataradam.adapters.llm.llama_server import LlamaServerChatModel
from avataradam.entrypoints.factories import chat_model
from avataradam.entrypoints.settings import load_settings
from tests.fixtures import IN_CI

LLAMA_CPP_DEFAULT_CACHE_RAM_MIB = 8192


@pytest.fixture(autouse=True)
def _runtime() -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        reason = "xllamacpp not installed: run `just setup-llm-test`"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true forbids skipping)")
        pytest.skip(reason)


def local_model(environ: dict[str, str]) -> LlamaServerChatModel:
    settings = load_settings(
        {
            "AVATARADAM_CHAT_MODEL": "local",
            "AVATARADAM_CHAT_LOCAL_MODEL_PATH": "/nonexistent/model.gguf",
            **environ,
        },
        env_file=None,
    )
    model = chat_model(settings)
    assert isinstance(model, LlamaServerChatModel)
    return model


def test_the_prompt_cache_is_capped_by_default_below_llama_cpps_own_default() -> None:
    params = local_model({}).server_params()

    assert params.cache_ram_mib == 1024
    assert params.cache_ram_mib < LLAMA_CPP_DEFAULT_CACHE_RAM_MIB


@pytest.mark.parametrize("mib", [0, 256, 4096])
def test_the_configured_prompt_cache_size_reaches_the_server_parameters(mib: int) -> None:
    params = local_model({"AVATARADAM_CHAT_LOCAL_CACHE_RAM_MIB": str(mib)}).server_params()

    assert params.cache_ram_mib == mib


def test_the_other_server_parameters_are_kept() -> None:
    params = local_model(
        {"AVATARADAM_CHAT_LOCAL_CONTEXT_TOKENS": "2048", "AVATARADAM_CHAT_LOCAL_THREADS": "1"}
    ).server_params()

    assert (params.n_ctx, params.n_parallel, params.cpuparams.n_threads) == (2048, 2, 1)
    assert params.model.path == "/nonexistent/model.gguf"


def test_a_negative_cache_size_is_refused() -> None:
    with pytest.raises(ValueError, match="cache_ram_mib"):
        LlamaServerChatModel(model_path="/nonexistent/model.gguf", cache_ram_mib=-1)
