"""A stand-in for the telegram process at the control-channel boundary, for web tests.

It takes requests from Redis with ``control.next_request`` and answers them with ``answer`` or
``refuse``, exactly as a telegram process does; what it answers is set per test. (The real
process is tested on its own; this peer only lets the web side be tested against the protocol.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from app.extensions import redis_store
from app.integrations.telegram import control


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


Handler = Callable[[control.Request], dict[str, Any] | None]


class ControlPeer:
    def __init__(self, app, worker_id: str = "peer-1") -> None:
        self.app = app
        self.worker_id = worker_id
        self.handlers: dict[str, Handler] = {}
        self.requests: list[control.Request] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="control-peer", daemon=True)

    def on(self, op: str, result: dict[str, Any] | Handler | None = None, *,
           refuse: tuple[str, str] | None = None) -> None:
        """Answer ``op`` with ``result`` (a dict, or a function of the request), or refuse it."""
        if refuse is not None:
            code, message = refuse

            def refusing(request):
                raise Refusal(code, message)

            self.handlers[op] = refusing
        elif callable(result):
            self.handlers[op] = result
        else:
            self.handlers[op] = lambda request: result or {}

    def ops(self) -> list[str]:
        return [r.op for r in self.requests]

    def start(self) -> ControlPeer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        redis = redis_store.client
        while not self._stop.is_set():
            request = control.next_request(redis, self.worker_id, timeout=0.2)
            if request is None:
                continue
            self.requests.append(request)
            handler = self.handlers.get(request.op)
            if handler is None:
                control.refuse(redis, request, "unknown_op", f"No handler for {request.op}.")
                continue
            try:
                with self.app.app_context():
                    result = handler(request)
            except Refusal as err:
                control.refuse(redis, request, err.code, err.message)
            else:
                control.answer(redis, request, result)


def set_account(app, account_id: int, **values: Any) -> None:
    """What the process does when a login ends: it writes the account (in its own session)."""
    from app.blueprints.accounts.models import BDAccount
    from app.extensions import db

    with app.app_context():
        account = db.session.get(BDAccount, account_id)
        for key, value in values.items():
            setattr(account, key, value)
        db.session.commit()
        db.session.remove()
