"""An OpenAI-compatible endpoint of the tests' own (a local HTTP server): each test says what it
answers, and reads what the client sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.integrations.ai import OpenAIChatModel

STALL = object()  # in ``events``: the stream stops sending here, without ending


@dataclass
class Answer:
    """What the endpoint sends back: a status, a body (bytes, or a dict sent as JSON), headers;
    ``events`` (a stream: each item a ``data:`` payload, a dict as JSON); ``hang`` (it never
    answers, until the test ends)."""

    status: int = 200
    body: bytes | dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    events: Iterable[dict | str | object] | None = None
    hang: bool = False


class Endpoint:
    def __init__(self) -> None:
        self.requests: list[dict] = []  # each: method, path, headers, json
        self.answer: Callable[[dict], Answer] = lambda request: Answer(404, {"error": {"message": "no answer set"}})
        self.released = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def answers(self, *answers: Answer) -> None:
        """Answer the requests in turn with these; the last one again after them."""
        queue = list(answers)
        self.answer = lambda request: queue.pop(0) if len(queue) > 1 else queue[0]

    def model(self, **options) -> OpenAIChatModel:
        options = {"base_url": self.base_url, "api_key": "sk-test", "model": "test-model", "timeout": 5.0,
                   "max_retries": 0} | options
        return OpenAIChatModel(**options)

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._serve(None)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                self._serve(json.loads(raw) if raw else None)

            def _serve(self, body):
                request = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                           "json": body}
                endpoint.requests.append(request)
                answer = endpoint.answer(request)
                if answer.hang:
                    endpoint.released.wait(30)
                    return
                if answer.events is not None:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    for event in answer.events:
                        if event is STALL:
                            endpoint.released.wait(30)
                            return
                        data = event if isinstance(event, str) else json.dumps(event)
                        self.wfile.write(f"data: {data}\n\n".encode())
                        self.wfile.flush()
                    self.close_connection = True
                    return
                data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler



def completion(text: str | None = "Hello there.", *, refusal: str | None = None, finish_reason: str = "stop",
               usage: dict | bool | None = None, model: str = "test-model") -> dict:
    """A chat.completion as OpenAI sends it (``usage=False``: without usage, as some servers do)."""
    body = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason, "logprobs": None,
                     "message": {"role": "assistant", "content": text, "refusal": refusal}}],
    }
    if usage is not False:
        body["usage"] = usage or {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    return body


def chunk(content: str | None = None, *, refusal: str | None = None, finish_reason: str | None = None,
          usage: dict | None = None, role: bool = False, model: str = "test-model") -> dict:
    """A chat.completion.chunk: a delta, or (``usage`` given) the usage chunk with no choices."""
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}
    if usage is not None:
        return head | {"choices": [], "usage": usage}
    delta = {"role": "assistant"} if role else {}
    if content is not None:
        delta["content"] = content
    if refusal is not None:
        delta["refusal"] = refusal
    return head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
