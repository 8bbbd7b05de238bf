"""The telegram process: one asyncio loop holding the Telethon clients of the accounts it leased.

- Supervisor (every ``supervise_seconds``, sooner on a nudge): accounts that should run and
  that nobody holds are leased (``leases.acquire``, at most ``max_accounts``) and connected;
  accounts removed or ended by the web are let go; idle logins are dropped.
- Heartbeat (every ``heartbeat_seconds``): every lease is renewed; a lease found lost drops its
  client at once, so a session is never open in two places. A dead process's leases expire and
  another process takes its accounts over.
- Control (a thread): requests from the web (``control.next_request``), handled on the loop.
- Jobs (a thread): the RQ jobs of this process's queue (``control.send_queue_name``), run in
  this process without forking; they hand the send or read mark to the loop.
- Database work runs in a small thread pool, each call one unit of work in an app context that
  commits on success (so events go out after the commit). The stores' events reach the same
  subscribers as in the web: the domains' ``live`` modules, imported here, ring the doorbells.

Sandbox mode (no ``TELEGRAM_API_ID``): clients talk to one in-memory ``World`` owned by the
process (``app_world()`` unless one is given, as tests do); stored sessions are re-admitted to it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from app.blueprints.accounts.public import AccountStatus, SessionVault
from app.blueprints.accounts.public import live as accounts_live  # noqa: F401 - subscribers: status doorbells
from app.blueprints.accounts.public import store as accounts
from app.blueprints.messaging.public import live as inbox_live  # noqa: F401 - subscribers: inbox doorbells
from app.blueprints.messaging.public import store
from app.db_types import utcnow
from app.extensions import redis_store
from app.i18n import N_, said
from app.integrations.telegram import control, leases
from app.integrations.telegram.runtime import jobs, login, outbox
from app.integrations.telegram.runtime.clients import RuntimeClient, build_client
from app.integrations.telegram.runtime.config import RuntimeConfig
from app.integrations.telegram.runtime.connection import Connection
from app.integrations.telegram.runtime.login import LoginFlow, Refusal
from app.integrations.telegram.runtime.ops import OPS
from app.integrations.telegram.sandbox import World, app_world
from app.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")
END_SECONDS = 5.0  # how long the loop's last tasks get to finish once cancelled


def _stack_of(task: asyncio.Task) -> str:
    stack = io.StringIO()
    task.print_stack(file=stack)
    return stack.getvalue()


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Runtime:
    """Run with ``run()`` (blocks; the ``telegram`` process) or ``start()``/``stop()`` (a thread)."""

    def __init__(self, app: Flask, *, world: World | None = None, config: RuntimeConfig | None = None,
                 worker_id: str | None = None) -> None:
        self.app = app
        self.settings = app.config["SETTINGS"]
        self.config = config or RuntimeConfig.from_env()
        self.worker_id = worker_id or new_worker_id()
        self.sandbox = not self.settings.telegram_api_id
        self.world = (world or app_world()) if self.sandbox else None
        self.vault = SessionVault(self.settings.session_keys)
        self.redis = redis_store.client
        self.connections: dict[int, Connection] = {}
        self.logins: dict[int, LoginFlow] = {}
        self._db = ThreadPoolExecutor(self.config.db_threads, thread_name_prefix="tg-db")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._nudged: asyncio.Event | None = None
        self._graceful = True
        self._tasks: set[asyncio.Task] = set()
        self._threads: list[threading.Thread] = []
        self._threads_stop = threading.Event()
        self._started = threading.Event()
        self._thread: threading.Thread | None = None

    # -- running ----------------------------------------------------------------------------------

    def run(self, *, handle_signals: bool = False) -> None:
        """``asyncio.run``, with a bounded end: a task that will not finish once cancelled (say, a
        client stuck disconnecting) is logged and left behind rather than keeping the loop alive."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.main(handle_signals=handle_signals))
        finally:
            try:
                leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in leftover:
                    task.cancel()
                if leftover:
                    loop.run_until_complete(asyncio.wait(leftover, timeout=END_SECONDS))
                for task in leftover:
                    if not task.done():
                        log.error("task %s did not end when cancelled\n%s", task.get_name(), _stack_of(task))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(asyncio.wait([loop.create_task(loop.shutdown_default_executor())],
                                                     timeout=END_SECONDS))
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def start(self, timeout: float = 10.0) -> Runtime:
        """Run the loop in a thread of its own (tests); returns once it is up."""
        self._thread = threading.Thread(target=self.run, name=f"telegram-{self.worker_id}", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("the telegram runtime did not start")
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Let go of everything (accounts offline, leases released) and end the loop."""
        self._end(graceful=True, timeout=timeout)

    def kill(self, timeout: float = 20.0) -> None:
        """End as a crash would: no status written, no lease released (they expire)."""
        self._end(graceful=False, timeout=timeout)

    def _end(self, *, graceful: bool, timeout: float) -> None:
        self._graceful = graceful
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._log_where_stuck()
                raise RuntimeError("the telegram runtime did not stop")

    def _log_where_stuck(self) -> None:
        """What the loop and its threads are doing, for whoever reads why a stop timed out."""
        frames = sys._current_frames()
        for thread in threading.enumerate():
            if thread is self._thread or thread in self._threads or thread.name.startswith("tg-db"):
                frame = frames.get(thread.ident)
                stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
                log.error("stuck stopping: thread %s\n%s", thread.name, stack)
        if self._loop is not None and not self._loop.is_closed():
            for task in asyncio.all_tasks(self._loop):  # read from this thread: a best effort
                log.error("stuck stopping: task %s\n%s", task.get_name(), _stack_of(task))

    async def main(self, *, handle_signals: bool = False) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping, self._nudged = asyncio.Event(), asyncio.Event()
        if handle_signals:
            import signal

            for signum in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(signum, self._stopping.set)
        self._thread_up(self._serve_control, "control")
        self._thread_up(self._take_jobs, "jobs")
        supervisor = self.spawn(self._supervise(), name="supervisor")
        heartbeat = self.spawn(self._heartbeat(), name="heartbeat")
        log.info("telegram process %s up (%s)", self.worker_id, "sandbox" if self.sandbox else "Telegram")
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            for task in (supervisor, heartbeat):
                task.cancel()
            await asyncio.gather(supervisor, heartbeat, return_exceptions=True)
            self._threads_stop.set()  # first: no control request or job may start work meanwhile
            for thread in self._threads:
                await asyncio.to_thread(thread.join, 5)
            await self._shutdown()
            self._db.shutdown(wait=True)
            log.info("telegram process %s down", self.worker_id)

    async def _shutdown(self) -> None:
        graceful = self._graceful
        flows, self.logins = list(self.logins.values()), {}
        for flow in flows:
            await flow.close()
            if graceful:
                self.release(flow.account_id)
        conns, self.connections = list(self.connections.values()), {}
        await asyncio.gather(*(conn.stop(status=AccountStatus.OFFLINE if graceful else None)
                               for conn in conns), return_exceptions=True)
        if graceful:
            for conn in conns:
                self.release(conn.account_id)
            Queue(control.send_queue_name(self.worker_id), connection=self.redis).delete(delete_jobs=True)
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- helpers for the parts ----------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """A task on the loop, kept referenced until done; its failure is logged."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    def submit(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Hand a coroutine to the loop from another thread (control, jobs)."""
        if self._loop is None or self._loop.is_closed():
            coro.close()
            return
        self._loop.call_soon_threadsafe(lambda: self.spawn(coro))

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` as one unit of work (app context, commit on success) off the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, self._unit, fn, args, kwargs)

    def _unit(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        with unit_of_work(self.app):
            return fn(*args, **kwargs)

    def new_client(self, session: str | None, *, phone: str, proxy: dict | None = None,
                   last_message_id: int = 0) -> RuntimeClient:
        if self.world is not None and session:
            # The in-memory sandbox forgot our sessions (and its messages) when it last restarted.
            self.world.adopt_session(session, phone, after_message_id=last_message_id)
        return build_client(self.settings, self.world, session, proxy=proxy)

    def adopt(self, account_id: int, org_id: int, client: RuntimeClient | None = None) -> Connection:
        """Hold and connect the account (its lease is already ours)."""
        conn = Connection(self, account_id, org_id, client=client)
        self.connections[account_id] = conn
        return conn

    def forget(self, conn: Connection, *, release: bool) -> None:
        if self.connections.get(conn.account_id) is conn:
            del self.connections[conn.account_id]
        if release and conn.account_id not in self.logins:
            self.release(conn.account_id)

    def release(self, account_id: int) -> None:
        leases.release(self.redis, account_id, self.worker_id)

    def nudge(self) -> None:
        if self._nudged is not None:
            self._nudged.set()

    @property
    def held(self) -> set[int]:
        return set(self.connections) | set(self.logins)

    # -- supervisor and heartbeat -------------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            try:
                await self.supervise_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("supervisor round failed", exc_info=True)
            try:
                await asyncio.wait_for(self._nudged.wait(), self.config.supervise_seconds)
            except TimeoutError:
                pass
            self._nudged.clear()

    async def supervise_once(self) -> None:
        held = list(self.connections)
        keep = await self.db(accounts.existing, held)
        for account_id in set(held) - keep:
            conn = self.connections.pop(account_id, None)
            if conn is not None:
                log.info("account %s: removed or signed out; letting go", account_id)
                await conn.stop()
                self.release(account_id)
        await login.reap_idle(self)
        await self._expire_orphaned_logins()
        room = self.config.max_accounts - len(self.held)
        if room <= 0:
            return
        wanted = await self.db(accounts.runnable, exclude=self.held)
        free = self._unheld([account_id for account_id, _ in wanted])
        for account_id, org_id in wanted:
            if room <= 0:
                break
            if account_id in free and leases.acquire(self.redis, account_id, self.worker_id,
                                                     self.config.lease_ttl):
                log.info("account %s: leased", account_id)
                self.adopt(account_id, org_id)
                room -= 1

    async def _expire_orphaned_logins(self) -> None:
        before = utcnow() - timedelta(seconds=self.config.login_idle_seconds)
        stale = await self.db(accounts.unfinished_logins, before)
        for account_id in self._unheld([a for a in stale if a not in self.logins]):
            await self.db(accounts.set_status, account_id, AccountStatus.NEEDS_LOGIN,
                          detail=said(N_("The sign-in was not finished. Start again.")))

    def _unheld(self, account_ids: list[int]) -> set[int]:
        if not account_ids:
            return set()
        holders = self.redis.mget([leases.lease_key(a) for a in account_ids])
        return {a for a, holder in zip(account_ids, holders, strict=True) if holder is None}

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_seconds)
            ids = sorted(self.held)
            if not ids:
                continue
            try:
                kept = leases.renew(self.redis, ids, self.worker_id, self.config.lease_ttl)
            except Exception:
                log.warning("lease renewal failed", exc_info=True)
                continue
            for account_id in set(ids) - kept:
                log.error("account %s: lease lost; dropping its client", account_id)
                flow = self.logins.pop(account_id, None)
                if flow is not None:
                    await flow.close()
                conn = self.connections.pop(account_id, None)
                if conn is not None:
                    await conn.stop()

    # -- what the jobs and the web ask --------------------------------------------------------------

    async def send(self, message_id: int, account_id: int) -> None:
        """The job names the message's account; the row has the last word (``outbox._claim``)."""
        conn = self.connections.get(account_id)
        if conn is not None and conn.online:
            await outbox.send(conn, message_id)

    async def mark_read(self, chat_id: int) -> None:
        target = await self.db(store.read_target, chat_id)
        conn = self.connections.get(target.account_id) if target else None
        if conn is not None and conn.online:
            await outbox.mark_read(conn, target)

    async def handle(self, request: control.Request) -> None:
        if request.expired:
            return
        op = OPS.get(request.op)
        try:
            if op is None:
                raise Refusal("unknown_op", said(N_("The Telegram service does not know "
                                                                    "%(op)s."),
                                                         op=repr(request.op)))
            if request.account_id is not None:
                holder = leases.holder(self.redis, request.account_id)
                if holder is not None and holder != self.worker_id:
                    control.requeue(self.redis, request, holder)  # it moved: follow the lease
                    return
            result = await op(self, request)
        except Refusal as refusal:
            control.refuse(self.redis, request, refusal.code, refusal.message)
        except Exception:
            log.exception("control op %s failed", request.op)
            control.refuse(self.redis, request, "telegram_error",
                           said(N_("Telegram could not do that just now. Try again in a "
                                                   "minute.")))
        else:
            control.answer(self.redis, request, result)

    # -- threads ----------------------------------------------------------------------------------

    def _thread_up(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"telegram-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _serve_control(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(control.NUDGE_CHANNEL)
        try:
            while not self._threads_stop.is_set():
                try:
                    request = control.next_request(self.redis, self.worker_id, timeout=0.5)
                    if request is not None:
                        self.submit(self.handle(request))
                    while pubsub.get_message(timeout=0.0) is not None:
                        self._loop.call_soon_threadsafe(self.nudge)
                except Exception:
                    log.warning("control listener failed", exc_info=True)
                    self._threads_stop.wait(1.0)
        finally:
            pubsub.close()

    def _take_jobs(self) -> None:
        """Run this process's RQ jobs here, without forking: they only hand work to the loop."""
        queue = Queue(control.send_queue_name(self.worker_id), connection=self.redis)
        jobs.bind(self)
        while not self._threads_stop.is_set():
            try:
                popped = self.redis.blpop([queue.key], timeout=0.5)
                if popped is None:
                    continue
                job_id = popped[1].decode() if isinstance(popped[1], bytes) else popped[1]
                try:
                    job = Job.fetch(job_id, connection=self.redis)
                except NoSuchJobError:
                    continue
                try:
                    job.perform()
                except Exception:
                    log.exception("job %s (%s) failed", job_id, job.func_name)
                finally:
                    job.delete()
            except Exception:
                log.warning("job listener failed", exc_info=True)
                self._threads_stop.wait(1.0)
