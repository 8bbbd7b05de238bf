"""Realtime is a doorbell: ``publish`` rings Redis, each web process forwards HTML to its sockets.

``publish(org_id, kind, **data)`` (after commit) puts a small JSON event on the organization's
Redis channel. One listener thread per web process receives every organization's events, renders
each one once with the renderer registered for its ``kind`` (the same template block the page
uses, marked ``hx-swap-oob``) and sends it to that organization's open sockets. A lost event loses
nothing: every event carries the organization's sequence number (``rt:seq:<org>``), a page
notes the number it was rendered at, and a socket greets its page with the current one; a page
that sees a number above its own (an event that rang before its socket listened, while a boosted
navigation was in flight, or while a live region was being re-fetched) re-fetches what it shows.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask
from flask_babel import force_locale

from app.after_commit import after_commit
from app.extensions import redis_store
from app.i18n import DEFAULT_LANGUAGE

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "rt:org:"
CONTROL_CHANNEL = "rt:control"  # orders to every process about its sockets (not numbered events)
SEQ_PREFIX = "rt:seq:"
MAX_SOCKETS_PER_USER = 10
MAX_FRAME_BYTES = 4096  # what a page sends is tiny; anything bigger closes the socket (1009)
# Close codes: after a sign-out the page reloads (and lands on the sign-in page); after a change
# of rights the ws extension reconnects, and the new socket is admitted with the new rights.
CLOSE_SIGNED_OUT = 4001
CLOSE_RIGHTS_CHANGED = 1012
CLOSE_REMOVED = 4003  # no longer a member of the organization: the page reloads
CLOSE_MESSAGES = {CLOSE_SIGNED_OUT: "Signed out.", CLOSE_RIGHTS_CHANGED: "Your access changed.",
                  CLOSE_REMOVED: "No longer a member."}
SOCKET_STALE_SECONDS = 90
FRAME_BURST = 20  # inbound frames allowed per FRAME_WINDOW seconds
FRAME_WINDOW = 10.0

Renderer = Callable[[dict, "Connection"], str | None]
_renderers: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the function turning events of ``kind`` into out-of-band HTML for one viewer.

    It is called as ``render(event_data, viewer)``, once per distinct (user, role, language) among
    the organization's sockets, so what a viewer may see or do can shape the fragment, and in the
    viewer's language (``force_locale``). None: send nothing.
    """

    def register(func: Renderer) -> Renderer:
        _renderers[kind] = func
        return func

    return register


# Number the event and ring in one round trip, so numbers reach listeners in order.
_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], seq .. ' ' .. ARGV[1])
return seq
"""


def publish_now(org_id: int, kind: str, user_ids: list[int] | None = None, **data) -> int:
    """Ring at once; returns the event's sequence number."""
    event = {"kind": kind, "data": data, "user_ids": user_ids}
    script = redis_store.client.register_script(_PUBLISH)  # sent by its hash; loaded when Redis lacks it
    return int(script(keys=[f"{SEQ_PREFIX}{org_id}", f"{CHANNEL_PREFIX}{org_id}"],
                      args=[json.dumps(event, default=str)]))


def current_seq(org_id: int) -> int:
    """The number of the organization's latest event: what a page rendered now has seen."""
    return int(redis_store.client.get(f"{SEQ_PREFIX}{org_id}") or 0)


def read_event(raw: bytes | str) -> tuple[int, dict]:
    """(sequence number, event) of a message on an organization's channel."""
    raw = raw.decode() if isinstance(raw, bytes) else raw
    seq, _, body = raw.partition(" ")
    return int(seq), json.loads(body)


def seq_mark(seq: int) -> str:
    """How a frame tells the page its event's number: a comment, which swaps ignore."""
    return f"<!--seq:{seq}-->"


def publish(org_id: int, kind: str, user_ids: list[int] | None = None, **data) -> None:
    """Ring the organization's doorbell once the current transaction commits.

    ``user_ids`` narrows the audience (None: everyone in the organization).
    """
    after_commit(lambda: publish_now(org_id, kind, user_ids, **data))


def close_sockets_now(*, user_id: int, code: int, session_id: int | None = None,
                      org_id: int | None = None) -> None:
    """Close every open socket of ``user_id`` in any process (narrowed to one browser session or
    one organization)."""
    order = {"user_id": user_id, "session_id": session_id, "org_id": org_id, "code": code}
    redis_store.client.publish(CONTROL_CHANNEL, json.dumps(order))


def close_sockets(**order) -> None:
    """``close_sockets_now`` once the current transaction commits."""
    after_commit(lambda: close_sockets_now(**order))


_FIRST_TAG = re.compile(r"^(\s*<[a-zA-Z][\w-]*)")


def oob(html: str, swap: str = "true") -> str:
    """Mark the fragment's outer element for an out-of-band swap (by its id)."""
    return _FIRST_TAG.sub(lambda m: f'{m.group(1)} hx-swap-oob="{swap}"', html, count=1)


@dataclass(eq=False)
class Connection:
    """One open socket. Sends are serialized: the listener and the socket's own thread share it."""

    ws: object
    user_id: int
    org_id: int
    role: str
    socket_id: str
    session_id: int | None = None
    language: str = DEFAULT_LANGUAGE  # the viewer's, as their page was answered in: fragments follow it
    lock: threading.Lock = field(default_factory=threading.Lock)
    frames: list[float] = field(default_factory=list)

    def send(self, text: str) -> bool:
        try:
            with self.lock:
                self.ws.send(text)
            return True
        except Exception:  # noqa: BLE001 - a closed socket is routine; the reader thread cleans up
            return False

    def close(self, code: int) -> None:
        """Close from any thread; the socket's own thread then ends (nothing more is sent)."""
        try:
            with self.lock:
                self.ws.close(reason=code, message=CLOSE_MESSAGES.get(code, ""))
        except Exception:  # noqa: BLE001 - already closed by the other side
            log.debug("socket %s was already closed", self.socket_id)

    def allow_frame(self, now: float) -> bool:
        self.frames = [t for t in self.frames if now - t < FRAME_WINDOW]
        self.frames.append(now)
        return len(self.frames) <= FRAME_BURST


class Hub:
    """This process's sockets by organization, and the one thread listening to Redis for them."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[Connection]] = defaultdict(set)
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self.subscribed = threading.Event()

    # -- sockets ---------------------------------------------------------------------------
    def admit(self, conn: Connection) -> bool:
        """Register ``conn`` unless its user already has MAX_SOCKETS_PER_USER open (any process)."""
        client = redis_store.client
        key = f"rt:sockets:{conn.user_id}"
        now = time.time()
        with client.pipeline() as pipe:
            pipe.zremrangebyscore(key, 0, now - SOCKET_STALE_SECONDS)
            pipe.zcard(key)
            _, count = pipe.execute()
        if count >= MAX_SOCKETS_PER_USER:
            return False
        client.zadd(key, {conn.socket_id: now})
        client.expire(key, SOCKET_STALE_SECONDS)
        with self._lock:
            self._sockets[conn.org_id].add(conn)
        return True

    def touch(self, conn: Connection) -> None:
        key = f"rt:sockets:{conn.user_id}"
        redis_store.client.zadd(key, {conn.socket_id: time.time()})
        redis_store.client.expire(key, SOCKET_STALE_SECONDS)

    def release(self, conn: Connection) -> None:
        with self._lock:
            self._sockets[conn.org_id].discard(conn)
        redis_store.client.zrem(f"rt:sockets:{conn.user_id}", conn.socket_id)

    def connections(self, org_id: int) -> list[Connection]:
        with self._lock:
            return list(self._sockets.get(org_id, ()))

    def close_matching(self, order: dict) -> int:
        """Carry out a ``close_sockets`` order on this process's sockets; returns how many closed."""
        with self._lock:
            pools = [self._sockets.get(order["org_id"], set())] if order.get("org_id") else \
                list(self._sockets.values())
            targets = [c for pool in pools for c in pool if c.user_id == order["user_id"]
                       and order.get("session_id") in (None, c.session_id)]
        for conn in targets:
            conn.close(order["code"])
        return len(targets)

    # -- the listener ----------------------------------------------------------------------
    def ensure_listener(self, app: Flask) -> None:
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen, args=(app,),
                                                  name="realtime-listener", daemon=True)
                self._listener.start()
        self.subscribed.wait(timeout=5)

    def _listen(self, app: Flask) -> None:
        backoff = 0.5
        while True:
            try:
                pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                pubsub.subscribe(CONTROL_CHANNEL)
                for _ in range(2):  # wait for both confirmations (a real message may come first)
                    self._handle(app, pubsub.get_message(timeout=1))
                self.subscribed.set()
                backoff = 0.5
                for message in pubsub.listen():
                    self._handle(app, message)
            except Exception:  # Redis restarted or the network blipped: resubscribe with backoff
                self.subscribed.clear()
                log.warning("realtime listener lost Redis; retrying in %.1fs", backoff, exc_info=True)
                time.sleep(backoff)
                backoff = min(backoff * 2, 15)

    def _handle(self, app: Flask, message: dict | None) -> None:
        if message is None:
            return
        if message.get("type") == "pmessage":
            self.dispatch(app, message["channel"], message["data"])
        elif message.get("type") == "message":
            self.close_matching(json.loads(message["data"]))

    def dispatch(self, app: Flask, channel: bytes | str, raw: bytes | str) -> int:
        """Render one event and send it to the org's sockets; returns how many got it."""
        channel = channel.decode() if isinstance(channel, bytes) else channel
        org_id = int(channel[len(CHANNEL_PREFIX):])
        targets = self.connections(org_id)
        if not targets:
            return 0
        seq, event = read_event(raw)
        audience = set(event.get("user_ids") or ())
        if audience:
            targets = [c for c in targets if c.user_id in audience]
        render = _renderers.get(event["kind"])
        if render is None or not targets:
            return 0
        data = {**event["data"], "org_id": org_id}
        fragments: dict[tuple[int, str, str], str | None] = {}
        sent = 0
        # Fragments link to routes: a request context lets them build URLs (paths; the page that
        # receives them has the host).
        with app.test_request_context("/"):
            for conn in targets:
                key = (conn.user_id, conn.role, conn.language)
                if key not in fragments:
                    try:
                        with force_locale(conn.language):
                            fragments[key] = render(data, conn)
                    except Exception:
                        log.exception("realtime renderer for %s failed", event["kind"])
                        fragments[key] = None
                if fragments[key]:
                    sent += conn.send(seq_mark(seq) + fragments[key])
        return sent

hub = Hub()
