"""AI models, as an integration: one interface, and the official OpenAI SDK behind it.

A domain calls ``complete`` (the whole answer, a ``Completion``) or ``stream`` (``Delta`` pieces,
the last carrying the ``Completion``) on a ``ChatModel``; ``OpenAIChatModel`` is one through the
OpenAI SDK against any OpenAI-compatible endpoint (``openai_model``). Every failure is an
``AIError`` of a few kinds, with a message for a person; nothing here needs an app or a request
context.
"""

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
           "OpenAIChatModel", "prompt_tokens", "rough_tokens"]
