"""The test harness: a private Redis, SQLite (or PostgreSQL from TEST_DATABASE_URL), the app, clients.

Each test starts from empty tables and an empty Redis: rows are deleted after every test (see
``_isolate``), so tests that commit (routes do) and the live server of the browser tests see the
same clean database. ``tests/core/test_isolation.py`` proves it.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

_ROOT = Path(tempfile.mkdtemp(prefix="relay-tests-"))
os.environ["INSTANCE_PATH"] = str(_ROOT / "instance")  # before the app package reads it

from flask import g, has_app_context  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.embedded_redis import ensure_embedded_redis, stop_embedded_redis  # noqa: E402
from app.extensions import db, redis_store  # noqa: E402

TEST_SECRET = "test-secret-key-not-for-production"


@pytest.fixture(scope="session")
def redis_url():
    directory = _ROOT / "redis"
    url = ensure_embedded_redis(directory)
    yield url
    stop_embedded_redis(directory)


def _database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith(
            "postgresql://") else url
    return f"sqlite:///{_ROOT / 'test.sqlite3'}"


TEST_SESSION_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="  # a Fernet key for tests only


@pytest.fixture(scope="session")
def settings(redis_url) -> Settings:
    return Settings(
        env="test", secret_key=TEST_SECRET, database_url=_database_url(), redis_url=redis_url,
        jwt_secret=TEST_SECRET, access_token_minutes=15, refresh_token_days=30, log_format="text",
        trusted_proxies=0, ratelimit_enabled=True, force_https=False,
        session_keys=(TEST_SESSION_KEY,),
    )


class FreshGlobalsClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``, as each real request does.

    Tests hold one app context open (for the database), and Flask reuses it for test requests, so
    without this ``g`` (the membership, Flask-Login's cached user) would leak between requests.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(settings):
    from flask_migrate import upgrade

    application = create_app(settings)
    application.config.update(TESTING=True)
    application.test_client_class = FreshGlobalsClient
    with application.app_context():
        _drop_everything()
        upgrade()  # the schema comes from the migrations, exactly as in production
        db.session.remove()
    return application


def _drop_everything() -> None:
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "sqlite":  # FTS tables and their triggers are not in metadata
            for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' "
                                             "AND name LIKE '%_fts'")).all():
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _empty_tables() -> None:
    db.session.remove()
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture(autouse=True)
def _isolate(app):
    """Run each test inside an app context and leave nothing behind (rows, Redis keys)."""
    with app.app_context():
        yield
        _empty_tables()
        redis_store.client.flushdb()


@pytest.fixture
def client(app):
    return app.test_client()


_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/auth/signin") -> str:
    """The CSRF token a page gives this client's session (read from the page, as a browser would)."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no csrf meta tag on {path}"
    return match.group(1)


@pytest.fixture
def csrf(client):
    return lambda path="/auth/signin": csrf_token(client, path)


def open_browser_session(user) -> str:
    """A committed server-side browser session for ``user``; returns its cookie token (get_id)."""
    from app.blueprints.auth.browser_sessions import open_session

    open_session(user, ip="127.0.0.1", user_agent="pytest")
    db.session.commit()
    return user.get_id()


def sign_in_as(client, membership) -> None:
    """Give ``client`` the session a real sign-in would (its server-side row, Flask-Login's keys
    and the chosen org)."""
    token = open_browser_session(membership.user)
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
        session["org_id"] = membership.org_id


@pytest.fixture
def doorbells(owner):
    """What rings the owner's organization's realtime channel: ``doorbells()`` gives the (kind, data)
    of each event since the last call."""
    from app.realtime import read_event

    pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"rt:org:{owner.org_id}")
    pubsub.get_message(timeout=1)

    def rung() -> list[tuple[str, dict]]:
        found = []
        while (message := pubsub.get_message(timeout=0.2)) is not None:
            event = read_event(message["data"])[1]
            found.append((event["kind"], event["data"]))
        return found

    yield rung
    pubsub.close()


@pytest.fixture
def owner():
    from tests.factories import make_member

    return make_member()


@pytest.fixture
def owner_client(client, owner):
    sign_in_as(client, owner)
    return client


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_env(settings) -> dict[str, str]:
    """The environment of a process of ours (web, telegram) on the test database and Redis."""
    return {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SECRET_KEY": TEST_SECRET,
        "TELEGRAM_SESSION_KEYS": TEST_SESSION_KEY,
        "LOG_FORMAT": "text",
    }


@pytest.fixture(scope="session")
def live_server(app, settings):
    """The real ``web`` process (gunicorn, as in the Procfile) on the test database and Redis."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    env = {**process_env(settings), "PORT": str(port), "WEB_CONCURRENCY": "1", "WEB_THREADS": "40"}
    log = open(_ROOT / "gunicorn.log", "w")  # noqa: SIM115 - closed at teardown
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError((_ROOT / "gunicorn.log").read_text()[-3000:]) from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


class TelegramProcess:
    """A running ``python -m workers.telegram`` (sandbox Telegram) and what it printed."""

    def __init__(self, proc, log_path: Path) -> None:
        self.proc, self.log_path = proc, log_path

    def output(self) -> str:
        return self.log_path.read_text()[-4000:]

    def stop(self) -> int:
        """SIGTERM, as the platform stops it; returns its exit code."""
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def telegram_process(settings):
    """The real ``telegram`` process (as in the Procfile) on the test database and Redis, started
    fresh for the test: its sandbox Telegram lives in its memory."""
    import subprocess
    import sys

    env = process_env(settings)
    env.pop("TELEGRAM_API_ID", None)  # the sandbox
    log_path = _ROOT / "telegram.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workers.telegram"],
                                cwd=Path(__file__).resolve().parent.parent, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    process = TelegramProcess(proc, log_path)
    yield process
    process.stop()


def session_cookie(app, membership) -> str:
    """A signed session cookie value for ``membership``, as a real sign-in would set."""
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.dumps({"_user_id": open_browser_session(membership.user), "_fresh": True,
                             "org_id": membership.org_id})


def bearer(membership) -> dict:
    """Authorization headers with a fresh access token for ``membership``."""
    from app.blueprints.auth import tokens
    from app.blueprints.auth.tokens import TokenSettings

    access = tokens.issue_pair(TokenSettings(secret=TEST_SECRET), membership).access_token
    db.session.commit()
    return {"Authorization": f"Bearer {access}"}


@pytest.fixture
def peer(app):
    """A telegram-process stand-in answering control requests; set its answers with ``peer.on``."""
    from tests.control_peer import ControlPeer

    app.config["TELEGRAM_CONTROL_TIMEOUT"] = 5
    started = ControlPeer(app).start()
    yield started
    started.stop()
    app.config.pop("TELEGRAM_CONTROL_TIMEOUT", None)


@contextmanager
def counting_statements():
    """The SQL statements run inside the block (savepoint bookkeeping left out)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on a free port, and the app mailing through it
    (``SMTP_URL=smtp://127.0.0.1:<port>``) for the test; yields its inbox (tests.mailing)."""
    from dataclasses import replace

    from aiosmtpd.controller import Controller

    from tests.mailing import SmtpInbox

    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings = app.config["SETTINGS"]
    app.config["SETTINGS"] = replace(settings, smtp_url=f"smtp://127.0.0.1:{controller.port}")
    inbox.port = controller.port
    yield inbox
    app.config["SETTINGS"] = settings
    controller.stop()
