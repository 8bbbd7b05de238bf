"""Which model the app talks to: the configured OpenAI-compatible endpoint, else the sandbox's."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from app.integrations.ai import sandbox
from app.integrations.ai.interface import ChatModel
from app.integrations.ai.openai_model import OpenAIChatModel

if TYPE_CHECKING:
    from app.config import Settings

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"  # when an endpoint is configured without AI_MODEL


def configured(settings: Settings) -> bool:
    """Whether an endpoint is configured: ``OPENAI_BASE_URL`` (any OpenAI-compatible server) or
    ``OPENAI_API_KEY`` alone (OpenAI's own)."""
    return bool(settings.openai_base_url or settings.openai_api_key)


def model_for(settings: Settings) -> ChatModel:
    """The chat model for these settings: the OpenAI SDK pointed at ``OPENAI_BASE_URL`` (OpenAI's
    own API when only ``OPENAI_API_KEY`` is set) with ``AI_MODEL``, or, with neither, at the
    sandbox endpoint this process serves (started on first use). One client per endpoint, key,
    model and process (a forked worker makes its own: connections are not shared across a fork)."""
    if configured(settings):
        return _client(settings.openai_base_url or OPENAI_URL, settings.openai_api_key or "none",
                       settings.ai_model or DEFAULT_MODEL, False, os.getpid())
    return _client(sandbox.url(), "sandbox", sandbox.MODEL, True, os.getpid())


@lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, model: str, is_sandbox: bool, _pid: int) -> OpenAIChatModel:
    return OpenAIChatModel(base_url=base_url, api_key=api_key, model=model, sandbox=is_sandbox)
