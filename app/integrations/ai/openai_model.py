"""The one real implementation: the official OpenAI SDK, against any OpenAI-compatible endpoint.

The same class talks to OpenAI, to a self-hosted server (vLLM, Ollama, LM Studio, a gateway) and to
the built-in sandbox endpoint: only ``base_url``, the key and the model differ. Timeouts and
retries are ours, not the SDK's defaults: ``TIMEOUT_SECONDS`` for each attempt (for a stream, the
longest wait for its next piece), ``MAX_RETRIES`` more attempts on a timeout, a lost connection, a
429 or a 5xx, with the SDK's backoff (or the wait the endpoint asks for). A streamed answer is not
retried once its first piece has arrived. No exception of the SDK leaves this module: each becomes
an ``AIError``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import openai

from app.i18n import N_
from app.integrations.ai.interface import AIError, Completion, Delta, Message, prompt_tokens, rough_tokens

log = logging.getLogger("app.ai")

TIMEOUT_SECONDS = 30.0
MAX_RETRIES = 2


class OpenAIChatModel:
    """A ``ChatModel`` through ``openai.OpenAI``. ``api_key`` may be any text for an endpoint that
    checks none (the sandbox's, a local server's)."""

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout: float = TIMEOUT_SECONDS,
                 max_retries: int = MAX_RETRIES, sandbox: bool = False) -> None:
        self.model = model
        self.sandbox = sandbox
        self.base_url = base_url
        self.timeout = timeout
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout,
                                     max_retries=max_retries)

    def __repr__(self) -> str:
        return f"<OpenAIChatModel {self.model} at {self.base_url}>"

    def complete(self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.7,
                 user: str | None = None, timeout: float | None = None) -> Completion:
        try:
            response = self._client.chat.completions.create(
                **self._request(messages, max_tokens, temperature, user, timeout))
            if not response.choices:
                raise _malformed("the answer has no choices")
            choice = response.choices[0]
            text = choice.message.content or ""
            usage = response.usage
            return Completion(
                text=text, model=response.model or self.model,
                prompt_tokens=usage.prompt_tokens if usage else prompt_tokens(messages),
                completion_tokens=usage.completion_tokens if usage else rough_tokens(text),
                finish_reason=choice.finish_reason, refusal=choice.message.refusal,
                tokens_estimated=usage is None)
        except AIError:
            raise
        except (openai.OpenAIError, ValueError, TypeError, AttributeError) as error:
            raise _mapped(error, self.model) from error

    def stream(self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.7,
               user: str | None = None, timeout: float | None = None) -> Iterator[Delta]:
        """The answer's pieces as the endpoint sends them; the last carries the whole
        ``Completion``. Closing the iterator early closes the connection."""
        text: list[str] = []
        refusal: list[str] = []
        model, finish_reason, usage = self.model, None, None
        try:
            chunks = self._client.chat.completions.create(
                **self._request(messages, max_tokens, temperature, user, timeout),
                stream=True, stream_options={"include_usage": True})
            with chunks:
                for chunk in chunks:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices[:1]:
                        finish_reason = choice.finish_reason or finish_reason
                        delta = choice.delta
                        if delta is None:
                            continue
                        if delta.content or delta.refusal:
                            text.append(delta.content or "")
                            refusal.append(delta.refusal or "")
                            yield Delta(text=delta.content or "", refusal=delta.refusal or "")
        except AIError:
            raise
        except (openai.OpenAIError, ValueError, TypeError, AttributeError) as error:
            raise _mapped(error, self.model) from error
        whole = "".join(text)
        refused = "".join(refusal)
        yield Delta(completion=Completion(
            text=whole, model=model,
            prompt_tokens=usage.prompt_tokens if usage else prompt_tokens(messages),
            completion_tokens=usage.completion_tokens if usage else rough_tokens(whole + refused),
            finish_reason=finish_reason, refusal=refused or None, tokens_estimated=usage is None))

    def models(self) -> list[str]:
        """The models the endpoint offers (``GET /models``): also a check that it answers."""
        try:
            return [model.id for model in self._client.models.list()]
        except (openai.OpenAIError, ValueError, TypeError, AttributeError) as error:
            raise _mapped(error, self.model) from error

    def _request(self, messages: Sequence[Message], max_tokens: int, temperature: float,
                 user: str | None, timeout: float | None) -> dict[str, Any]:
        # max_tokens, not max_completion_tokens: the one every OpenAI-compatible server reads.
        request: dict[str, Any] = {
            "model": self.model, "messages": [dict(m) for m in messages], "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if user:
            request["user"] = user
        if timeout is not None:
            request["timeout"] = timeout
        return request


def _malformed(detail: str) -> AIError:
    return AIError("unavailable", N_("The AI endpoint answered with something that is not a chat "
                                     "completion. Check OPENAI_BASE_URL."), detail=detail)


_FILTER_CODES = {"content_filter", "content_policy_violation"}


def _mapped(error: Exception, model: str) -> AIError:
    """The ``AIError`` for an exception of the SDK (or of parsing what the endpoint sent)."""
    log.warning("AI endpoint error: %s: %s", type(error).__name__, error)
    detail = str(error)[:500]
    if isinstance(error, openai.APITimeoutError):
        return AIError("timeout", N_("The AI model did not answer in time. Try again in a moment."),
                       detail=detail)
    if isinstance(error, openai.APIConnectionError):
        return AIError("unavailable", N_("Could not reach the AI endpoint. Check OPENAI_BASE_URL, or "
                                         "try again later."), detail=detail)
    if isinstance(error, openai.APIStatusError):
        return _status_error(error, model, detail)
    if isinstance(error, openai.APIResponseValidationError | ValueError | TypeError | AttributeError):
        return _malformed(detail)
    # An error event inside a stream, or another of the SDK's own.
    return AIError("unavailable", N_("The AI endpoint had an error of its own. Try again later."),
                   detail=detail)


def _status_error(error: openai.APIStatusError, model: str, detail: str) -> AIError:
    status = error.status_code
    code = str(getattr(error, "code", None) or "")
    retry_after = _retry_after(error)
    if status == 429:
        if code == "insufficient_quota":
            return AIError("rate_limited", N_("The AI endpoint's quota is used up. Check the plan of "
                                              "the account behind OPENAI_API_KEY."),
                           detail=detail, status=status, retry_after=retry_after)
        return AIError("rate_limited", N_("The AI endpoint is receiving too many requests. Try again "
                                          "in a minute."), detail=detail, status=status,
                       retry_after=retry_after)
    if status == 401:
        return AIError("auth", N_("The AI endpoint did not accept the key. Check OPENAI_API_KEY."),
                       detail=detail, status=status)
    if status == 403:
        return AIError("auth", N_("The AI endpoint does not let this key use the model %(model)s."),
                       detail=detail, status=status, model=model)
    if status >= 500 or status in (408, 409):
        return AIError("unavailable", N_("The AI endpoint had an error of its own. Try again later."),
                       detail=detail, status=status, retry_after=retry_after)
    if code in _FILTER_CODES:
        return AIError("refused", N_("The AI endpoint's content filter refused this request."),
                       detail=detail, status=status)
    if status == 404:
        return AIError("bad_request", N_("The AI endpoint has no model named %(model)s. Check AI_MODEL."),
                       detail=detail, status=status, model=model)
    return AIError("bad_request", N_("The AI endpoint refused the request: %(reason)s"),
                   detail=detail, status=status, reason=_reason(error))


def _reason(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"][:300]
        if isinstance(body.get("message"), str):
            return body["message"][:300]
    return str(error.message)[:300]


def _retry_after(error: openai.APIStatusError) -> float | None:
    headers = error.response.headers
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        try:
            return float(headers[name]) / divisor
        except (KeyError, ValueError):
            continue
    return None
