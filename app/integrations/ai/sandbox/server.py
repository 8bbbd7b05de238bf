"""The sandbox model as an OpenAI-compatible HTTP endpoint, served in this process.

``url()`` starts it the first time it is asked for (on 127.0.0.1, a free port, a threaded WSGI
server in a daemon thread; one per process, and again in a forked child) and returns its base URL,
which the real OpenAI SDK is pointed at. It serves:

- ``POST /v1/chat/completions``: the drafter's answer as a ``chat.completion``, or with
  ``"stream": true`` as server-sent ``chat.completion.chunk`` events (a role chunk, the text a word
  or two at a time, the finish chunk, a usage chunk when ``stream_options.include_usage`` asks,
  then ``data: [DONE]``). ``max_tokens`` (or ``max_completion_tokens``) cuts the text, with
  ``finish_reason: "length"``. Usage counts are ``rough_tokens`` (words and punctuation).
- ``GET /v1/models`` and ``GET /v1/models/<id>``: the one model, ``MODEL``.

Any key is accepted; errors have OpenAI's shape (``{"error": {"message", "type", "code"}}``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from app.integrations.ai.interface import prompt_tokens, rough_tokens
from app.integrations.ai.sandbox.drafter import draft

log = logging.getLogger("app.ai.sandbox")

MODEL = "sandbox-drafter-1"
OWNER = "relay-sandbox"
MAX_BODY = 1_000_000
# A pause between streamed pieces, so the inbox shows a draft being written as a real model would.
CHUNK_DELAY_SECONDS = 0.02

StartResponse = Callable[..., Any]
_TOKEN_END = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\S+\s*(?:\S+\s*)?")


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The endpoint as a WSGI application."""
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
    try:
        if path.rstrip("/") == "/v1/models" and method == "GET":
            return _json(start_response, 200, {"object": "list", "data": [_model()]})
        if path.startswith("/v1/models/") and method == "GET":
            if path.removeprefix("/v1/models/") != MODEL:
                return _error(start_response, 404, f"The model '{path[11:]}' does not exist",
                              "invalid_request_error", "model_not_found")
            return _json(start_response, 200, _model())
        if path.rstrip("/") == "/v1/chat/completions":
            if method != "POST":
                return _error(start_response, 405, "Use POST", "invalid_request_error", None)
            return _chat(environ, start_response)
        return _error(start_response, 404, f"No route {method} {path}", "invalid_request_error", None)
    except Exception:  # a bug of ours answers as an endpoint would, not with a traceback page
        log.exception("AI sandbox failed on %s %s", method, path)
        return _error(start_response, 500, "The sandbox model failed", "server_error", None)


def _chat(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _error(start_response, 413, "The request is too large", "invalid_request_error", None)
    try:
        body = json.loads(environ["wsgi.input"].read(length) or b"null")
    except ValueError:
        return _error(start_response, 400, "The body is not valid JSON", "invalid_request_error", None)
    if not isinstance(body, dict):
        return _error(start_response, 400, "The body must be a JSON object", "invalid_request_error", None)
    if body.get("model") != MODEL:
        return _error(start_response, 404, f"The model '{body.get('model')}' does not exist",
                      "invalid_request_error", "model_not_found")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return _error(start_response, 400, "'messages' must be a non-empty array of messages",
                      "invalid_request_error", None)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        return _error(start_response, 400, "'max_tokens' must be a positive integer",
                      "invalid_request_error", None)

    written = draft(messages)
    text, finish_reason = _cut(written.text, limit)
    usage = {"prompt_tokens": prompt_tokens(messages),
             "completion_tokens": rough_tokens(text or written.refusal or "")}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    head = {"id": f"chatcmpl-sandbox-{uuid.uuid4().hex[:24]}", "created": int(time.time()),
            "model": MODEL, "system_fingerprint": "sandbox"}
    if body.get("stream"):
        options = body.get("stream_options") or {}
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        return _events(head, text, written.refusal, finish_reason, usage if include_usage else None)
    message = {"role": "assistant", "content": None if written.refusal else text,
               "refusal": written.refusal}
    return _json(start_response, 200, {
        **head, "object": "chat.completion", "usage": usage,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
    })


def _cut(text: str, limit: int | None) -> tuple[str, str]:
    """``text`` up to ``limit`` tokens (by ``rough_tokens``), and why it ends."""
    if limit is None:
        return text, "stop"
    for count, match in enumerate(_TOKEN_END.finditer(text), start=1):
        if count == limit:
            rest = text[match.end():]
            return (text, "stop") if not _TOKEN_END.search(rest) else (text[:match.end()], "length")
    return text, "stop"


def _events(head: dict[str, Any], text: str, refusal: str | None, finish_reason: str,
            usage: dict[str, int] | None) -> Iterator[bytes]:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        payload = {**head, "object": "chat.completion.chunk", "choices": choices, **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

    key = "refusal" if refusal else "content"
    yield chunk([{"index": 0, "delta": {"role": "assistant", key: ""}, "finish_reason": None}])
    for piece in _PIECE.findall(refusal or text):
        time.sleep(CHUNK_DELAY_SECONDS)
        yield chunk([{"index": 0, "delta": {key: piece}, "finish_reason": None}])
    yield chunk([{"index": 0, "delta": {}, "finish_reason": finish_reason}])
    if usage is not None:
        yield chunk([], usage=usage)
    yield b"data: [DONE]\n\n"


def _model() -> dict[str, Any]:
    return {"id": MODEL, "object": "model", "created": 1_700_000_000, "owned_by": OWNER}


def _json(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload, ensure_ascii=False).encode()
    start_response(f"{status} {_REASONS.get(status, 'Error')}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _error(start_response: StartResponse, status: int, message: str, kind: str,
           code: str | None) -> list[bytes]:
    return _json(start_response, status,
                 {"error": {"message": message, "type": kind, "param": None, "code": code}})


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 500: "Internal Server Error"}


# -- the server: one per process, started when first asked for ----------------------------------

class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("AI sandbox: " + format, *args)


_lock = threading.Lock()
_running: tuple[int, str] | None = None  # (the process it runs in, its base URL)


def url() -> str:
    """The sandbox endpoint's base URL (``http://127.0.0.1:<port>/v1``), started if need be."""
    global _running
    with _lock:
        if _running is None or _running[0] != os.getpid():
            server = make_server("127.0.0.1", 0, application, server_class=_ThreadingServer,
                                 handler_class=_QuietHandler)
            threading.Thread(target=server.serve_forever, name="ai-sandbox", daemon=True).start()
            _running = (os.getpid(), f"http://127.0.0.1:{server.server_port}/v1")
            log.info("AI sandbox model %s at %s", MODEL, _running[1])
        return _running[1]
