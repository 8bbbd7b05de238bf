"""What a domain asks an AI model for and what it gets back, whichever model answers.

A domain builds the messages (OpenAI's chat shape: a role and a text each), calls ``complete`` for
a whole answer or ``stream`` for its pieces as they are written, and gets a ``Completion``: the
text, the refusal if the model declined, the model that answered and the tokens it counted. Every
failure is one ``AIError`` with a ``kind`` a caller can branch on and a ``message`` for a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict

from app.i18n import said

Role = Literal["system", "user", "assistant"]


class Message(TypedDict):
    role: Role
    content: str


ErrorKind = Literal["timeout", "rate_limited", "unavailable", "bad_request", "refused", "auth"]

# What a caller may do about each kind: worth trying again later (a job retries with backoff), or not
# until someone changes the request or the configuration.
TRANSIENT: frozenset[ErrorKind] = frozenset({"timeout", "rate_limited", "unavailable"})


class AIError(Exception):
    """The model could not answer. ``kind`` says why (``TRANSIENT`` kinds may pass by themselves);
    ``message`` is for a person (a ``said`` text: ``in_words`` says it in the reader's language);
    ``detail`` is what the endpoint said, for the log, never for a person; ``status`` its HTTP
    status, if it answered; ``retry_after`` the seconds it asked to wait, if it did."""

    def __init__(self, kind: ErrorKind, message: str, /, *, detail: str = "", status: int | None = None,
                 retry_after: float | None = None, **values: Any) -> None:
        self.kind = kind
        self.message_id = message
        self.values = values
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        super().__init__(str(self))

    @property
    def message(self) -> str:
        return said(self.message_id, **self.values)

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT

    def __str__(self) -> str:
        english = self.message_id % self.values if self.values else self.message_id
        return f"{self.kind}: {english}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Completion:
    """A model's whole answer. ``refusal`` is the model's own text when it declined (OpenAI's
    ``message.refusal``), else None; ``finish_reason`` is "stop", "length" (cut at ``max_tokens``),
    "content_filter" (the endpoint's filter stopped it) or what else the endpoint said.
    ``tokens_estimated`` is true when the endpoint reported no usage and the counts are ours
    (``rough_tokens``), so budgets still count something."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    refusal: str | None = None
    tokens_estimated: bool = False

    @property
    def refused(self) -> bool:
        return self.refusal is not None or self.finish_reason == "content_filter"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed answer: more ``text`` (or ``refusal`` text) to append. The last piece
    of every stream carries ``completion``, the whole answer with its usage, and no text."""

    text: str = ""
    refusal: str = ""
    completion: Completion | None = None


class ChatModel(Protocol):
    """A chat model. ``model`` names it; ``sandbox`` is true for the built-in sandbox model.

    Both calls raise ``AIError`` and nothing else from the endpoint; ``timeout`` (seconds) replaces
    the model's own for one call. ``user`` is an opaque id of the person the text is for, passed
    to the endpoint for its abuse monitoring."""

    model: str
    sandbox: bool

    def complete(self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.7,
                 user: str | None = None, timeout: float | None = None) -> Completion: ...

    def stream(self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.7,
               user: str | None = None, timeout: float | None = None) -> Iterator[Delta]: ...

    def models(self) -> list[str]: ...


_TOKEN = re.compile(r"\w+|[^\w\s]")


def rough_tokens(text: str) -> int:
    """A rough token count: words and punctuation marks. Real tokenizers count more for Russian
    and less for common English; close enough for a sandbox's usage and for a budget's estimate."""
    return len(_TOKEN.findall(text or ""))


def prompt_tokens(messages: Sequence[Message]) -> int:
    """``rough_tokens`` over a prompt, with the few tokens each message's framing costs."""
    return sum(rough_tokens(m.get("content") or "") + 3 for m in messages)
