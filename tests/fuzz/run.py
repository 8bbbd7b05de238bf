"""Schemathesis against the running app: ``python -m tests.fuzz.run`` (``make fuzz``).

Starts the app on a scratch database (a fresh SQLite file, or the PostgreSQL database named by
TEST_DATABASE_URL, emptied first) with the demo organization, signs in as its owner with an API
token, serves it on a free local port and runs ``schemathesis run`` over the app's own OpenAPI
document: every operation the document lists, so a new route is fuzzed the day it lands. Rate
limits are off for the run (a fuzzer is one client sending thousands of requests a minute).

Knobs (environment): FUZZ_SEED (printed either way, so a failure can be replayed), FUZZ_MAX_TIME
(seconds, default 180), FUZZ_PHASES (default every phase schemathesis offers), FUZZ_WORKERS,
FUZZ_INCLUDE (a regular expression: only the paths it matches, e.g. ``^/api/pipeline``).
Exits with schemathesis' code: non-zero on any failure.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="relay-fuzz-"))
os.environ["INSTANCE_PATH"] = str(ROOT / "instance")  # before the app package reads it

from sqlalchemy import select, text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.embedded_redis import ensure_embedded_redis, stop_embedded_redis  # noqa: E402
from app.extensions import db  # noqa: E402

HERE = Path(__file__).resolve().parent
SECRET = "fuzz-secret-key-not-for-production"
SESSION_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="  # a Fernet key for this run only


def database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgresql://"):
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url or f"sqlite:///{ROOT / 'fuzz.sqlite3'}"


def build_app(redis_url: str):
    settings = Settings(
        env="test", secret_key=SECRET, database_url=database_url(), redis_url=redis_url,
        jwt_secret=SECRET, access_token_minutes=120, refresh_token_days=30, log_format="text",
        trusted_proxies=0, ratelimit_enabled=False, force_https=False, session_keys=(SESSION_KEY,),
    )
    return create_app(settings)


def prepare(app) -> str:
    """A fresh schema with the demo organization; the owner's access token."""
    from flask_migrate import upgrade

    from app import demo
    from app.api.auth import token_settings
    from app.blueprints.auth.public import User
    from app.blueprints.auth.tokens import issue_pair
    from app.blueprints.team.public import Membership

    with app.app_context():
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        demo.seed()
        db.session.commit()
        owner = db.session.scalar(select(Membership).join(User).where(User.email == demo.DEMO_EMAIL))
        token = issue_pair(token_settings(), owner).access_token
        db.session.commit()
        return token


def main() -> int:
    redis_dir = ROOT / "redis"
    app = build_app(ensure_embedded_redis(redis_dir))
    try:
        token = prepare(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        seed = os.environ.get("FUZZ_SEED") or str(random.SystemRandom().randrange(2**31))
        print(f"--- schemathesis on {database_url().split(':')[0]}, seed {seed} "
              f"(replay: FUZZ_SEED={seed} make fuzz)", flush=True)
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(HERE / "schemathesis.toml"),
            "run", f"{base}/api/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "all", "--seed", seed,
            "--phases", os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing,stateful"),
            "--max-time", os.environ.get("FUZZ_MAX_TIME", "180"),
            "--workers", os.environ.get("FUZZ_WORKERS", "8"),
            *(["--include-path-regex", os.environ["FUZZ_INCLUDE"]] if os.environ.get("FUZZ_INCLUDE") else []),
            "--request-timeout", "30", "--generation-database", "none", "--no-color",
        ]
        # Run from the scratch directory (schemathesis keeps its state in the working directory),
        # with the checkout on the path for the hooks module.
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.checks", "PYTHONPATH": str(HERE.parent.parent)}
        return subprocess.run(command, check=False, env=env, cwd=ROOT).returncode
    finally:
        stop_embedded_redis(redis_dir)


if __name__ == "__main__":
    sys.exit(main())
