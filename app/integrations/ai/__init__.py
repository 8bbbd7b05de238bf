"""AI models, as an integration: one interface, two endpoints behind the same real client.

A domain asks ``model_for(settings)`` for a ``ChatModel`` and calls ``complete`` (the whole
answer, a ``Completion``) or ``stream`` (``Delta`` pieces, the last carrying the ``Completion``).
Both go through the official OpenAI SDK (``openai_model``): to the endpoint that
``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` and ``AI_MODEL`` configure, or, with none, to the built-in
sandbox model (``sandbox``), an OpenAI-compatible endpoint served in the process that writes
plausible drafts from the context in the prompt. Every failure is an ``AIError`` of a few kinds,
with a message for a person; nothing here needs an app or a request context.
"""

from app.integrations.ai.factory import configured, model_for
from app.integrations.ai.interface import (
    TRANSIENT,
    AIError,
    ChatModel,
    Completion,
    Delta,
    ErrorKind,
    Message,
    prompt_tokens,
    rough_tokens,
)
from app.integrations.ai.openai_model import OpenAIChatModel

__all__ = ["TRANSIENT", "AIError", "ChatModel", "Completion", "Delta", "ErrorKind", "Message",
           "OpenAIChatModel", "configured", "model_for", "prompt_tokens", "rough_tokens"]
