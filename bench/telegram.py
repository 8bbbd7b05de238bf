"""The telegram process under load: ``python -m bench.telegram [--accounts N] [--postgres URL]``.

One ``Runtime`` (the telegram process's loop, in this process) holds N sandbox accounts (200 by
default), each with a person who already wrote. A real ``web`` process (gunicorn) serves a
websocket to a signed-in owner, as an open inbox has. Measured:

- memory per account: this process's RSS after every account is online and imported, minus before,
  divided by N (it includes the sandbox peer's side of each account, which a real deployment lacks);
- inbound latency: a sandbox person writes -> the Telethon client hears it -> the runtime stores it
  and rings the doorbell -> the web process renders the fragment -> the socket receives it;
- send overhead: from the outbox row's commit to Telegram's answer being recorded, minus the time
  inside the Telethon request itself (what the sandbox Telegram spent answering).

Targets: inbound p95 under 200 ms; our own overhead per send under 20 ms. Memory has no target:
it is reported so that accounts per process can be planned.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from bench import scratch
from bench.crm_list import _fresh_schema, _settings

INBOUND_P95_MS, SEND_OVERHEAD_MS = 200.0, 20.0
SESSION_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="  # a throwaway Fernet key for the bench


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def seed(world, accounts: int):
    """An owner, and ``accounts`` BD accounts whose sessions the world knows, each with a person who
    wrote once. Returns (owner membership, [(account id, phone, person id)])."""
    from app.blueprints.accounts.models import BDAccount
    from app.blueprints.accounts.vault import app_vault
    from app.blueprints.auth.browser_sessions import open_session
    from app.blueprints.team.permissions import Role
    from app.extensions import db
    from tests.factories import make_member

    owner = make_member(Role.OWNER)
    open_session(owner.user, ip="127.0.0.1", user_agent="bench")
    token = owner.user.get_id()  # the socket's cookie names that session (read before the commit)
    vault = app_vault()
    rows = []
    for n in range(accounts):
        phone = f"99966{1 + n % 9}{n:04d}"
        world.add_account(phone, first_name=f"Bench {n}")
        person = world.add_person(f"Person {n}", username=f"bench_person_{n}")
        world.person_writes(person.profile.id, phone, "Hello there", push=False)
        account = BDAccount(
            org_id=owner.org_id,
            phone=f"+{phone}",
            status="offline",
            sealed_session=vault.seal(world.login_session(phone)),
        )
        db.session.add(account)
        rows.append((account, phone, person.profile.id))
    db.session.commit()
    return (owner.id, token, owner.org_id), [(a.id, phone, pid) for a, phone, pid in rows]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def all_imported(account_ids: list[int]) -> bool:
    from sqlalchemy import func, select

    from app.blueprints.accounts.models import BDAccount
    from app.extensions import db

    db.session.remove()
    count = db.session.scalar(
        select(func.count())
        .select_from(BDAccount)
        .where(BDAccount.id.in_(account_ids), BDAccount.status == "online", BDAccount.synced_at.is_not(None))
    )
    return count == len(account_ids)


def start_web(database_url: str, redis_url: str) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench-secret",
        "TELEGRAM_SESSION_KEYS": SESSION_KEY,
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "20",
        "LOG_FORMAT": "text",
        "RATELIMIT_ENABLED": "0",
    }
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(url), 30, "the web process")
    return proc, url


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/healthz", timeout=1)
        return True
    except OSError:
        return False


def open_socket(app, owner: tuple[int, str, int], url: str):
    from urllib.parse import urlsplit

    import simple_websocket

    from app.realtime import publish_now

    serializer = app.session_interface.get_signing_serializer(app)
    cookie = serializer.dumps({"_user_id": owner[1], "_fresh": True, "org_id": owner[2]})
    # As the site's own page opens it: the handshake checks Origin (the client's Host has no port).
    origin = "http://" + urlsplit(url).hostname
    ws = simple_websocket.Client.connect(
        url.replace("http", "ws") + "/ws", headers={"Cookie": f"session={cookie}", "Origin": origin}
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the server subscribes just after the handshake
        publish_now(owner[2], "org.updated")
        if ws.receive(timeout=0.3):
            return ws
    raise SystemExit("the socket heard nothing")


def measure_inbound(world, ws, accounts, count: int) -> list[float]:
    timings = []
    for n in range(count):
        _, phone, person_id = accounts[n % len(accounts)]
        token = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        world.person_writes(person_id, phone, f"Question {token}?")
        while True:
            frame = ws.receive(timeout=5)
            if frame is None:
                raise SystemExit(f"message {n} never reached the socket")
            if token in frame:
                break
        timings.append((time.perf_counter() - started) * 1000)
        while ws.receive(timeout=0.02):  # the rest of this message's frames (chat row, counters)
            pass
    return timings


def measure_sends(owner_ids: tuple[int, str, int], accounts, count: int) -> tuple[list[float], list[float]]:
    """(end-to-end ms, time inside Telegram's request ms) per send, one send at a time."""
    from sqlalchemy import select
    from telethon.tl import functions

    from app.blueprints.messaging import service
    from app.blueprints.messaging.models import Chat
    from app.blueprints.team.models import Membership
    from app.extensions import db
    from app.integrations.telegram.runtime import outbox
    from app.integrations.telegram.runtime.clients import RuntimeClient

    in_request: dict[int, float] = {}
    recorded: dict[int, float] = {}
    done = threading.Event()
    original_call, original_record = RuntimeClient.__call__, outbox.record

    async def timed_call(self, request, *args, **kwargs):
        started = time.perf_counter()
        try:
            return await original_call(self, request, *args, **kwargs)
        finally:
            if isinstance(request, functions.messages.SendMessageRequest):
                in_request[request.random_id] = (time.perf_counter() - started) * 1000

    async def timed_record(conn, message_id, *args, **kwargs):
        await original_record(conn, message_id, *args, **kwargs)
        recorded[message_id] = time.perf_counter()
        done.set()

    RuntimeClient.__call__, outbox.record = timed_call, timed_record
    try:
        db.session.remove()
        owner = db.session.get(Membership, owner_ids[0])
        chats = {c.account_id: c for c in db.session.scalars(select(Chat))}
        totals, telegram = [], []
        for n in range(count):
            chat = chats[accounts[n % len(accounts)][0]]
            done.clear()
            message = service.queue_message(owner, chat, f"Thanks! Reply {n}")
            message_id, random_id = message.id, message.random_id
            started = time.perf_counter()
            db.session.commit()  # the nudge goes after the commit
            if not done.wait(10) or message_id not in recorded:
                raise SystemExit(f"send {n} was not recorded")
            totals.append((recorded[message_id] - started) * 1000)
            telegram.append(in_request[random_id])
    finally:
        RuntimeClient.__call__, outbox.record = original_call, original_record
    return totals, telegram


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--messages", type=int, default=300, help="inbound messages timed")
    parser.add_argument("--sends", type=int, default=200, help="outbound sends timed")
    parser.add_argument("--postgres", help="a scratch PostgreSQL database URL (its tables are dropped)")
    args = parser.parse_args(argv)
    os.environ["TELEGRAM_SESSION_KEYS"] = SESSION_KEY

    with scratch(args.postgres) as database_url:
        from dataclasses import replace

        from app import create_app
        from app.extensions import redis_store
        from app.integrations.telegram.runtime.config import RuntimeConfig
        from app.integrations.telegram.runtime.process import Runtime
        from app.integrations.telegram.sandbox import World

        settings = replace(_settings(database_url), session_keys=(SESSION_KEY,))
        app = create_app(settings)
        with app.app_context():
            _fresh_schema(bool(args.postgres))
            world = World(reply_delay=None)
            owner, accounts = seed(world, args.accounts)
            web, url = start_web(
                database_url.replace("postgresql+psycopg://", "postgresql://"), redis_store.url
            )
            try:
                gc.collect()
                before = rss_mb()
                runtime = Runtime(app, world=world, config=RuntimeConfig(max_accounts=args.accounts + 10))
                started = time.perf_counter()
                runtime.start()
                ids = [a for a, _, _ in accounts]
                wait_until(lambda: all_imported(ids), 300, "every account online and imported")
                connected_s = time.perf_counter() - started
                gc.collect()
                per_account = (rss_mb() - before) / args.accounts
                ws = open_socket(app, owner, url)
                inbound = measure_inbound(world, ws, accounts, args.messages)
                totals, telegram = measure_sends(owner, accounts, args.sends)
                ws.close()
                runtime.stop()
            finally:
                web.terminate()
                web.wait(10)

    overhead = [t - r for t, r in zip(totals, telegram, strict=True)]
    label = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{label}: {args.accounts} sandbox accounts online and imported in {connected_s:.1f} s")
    print(f"  memory per account: {per_account:.2f} MB RSS (with the sandbox peer's side)")
    print(
        f"  inbound -> socket ({len(inbound)} messages): p50 {statistics.median(inbound):.1f} ms, "
        f"p95 {p95(inbound):.1f} ms (target {INBOUND_P95_MS:.0f}) -> "
        f"{'met' if p95(inbound) < INBOUND_P95_MS else 'MISSED'}"
    )
    print(
        f"  send ({len(totals)} sends): commit -> recorded p50 {statistics.median(totals):.1f} ms, "
        f"inside Telegram's request p50 {statistics.median(telegram):.1f} ms; our overhead p50 "
        f"{statistics.median(overhead):.1f} ms, p95 {p95(overhead):.1f} ms "
        f"(target {SEND_OVERHEAD_MS:.0f}) -> {'met' if p95(overhead) < SEND_OVERHEAD_MS else 'MISSED'}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
