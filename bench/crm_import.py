"""CSV import speed: ``python -m bench.crm_import [--rows N] [--postgres URL]``.

Generates a realistic contacts CSV (about 80 bytes a row, ~5% duplicate rows, ~1% bad rows), then
runs the real import (upload into chunks, then the job function the worker runs, dedupe ``skip``)
against a fresh SQLite file database, and against PostgreSQL when ``--postgres URL`` is given
(that database's tables are dropped and re-created: give it a scratch database).

Targets: 100,000 rows under 15 s on SQLite and under 10 s on PostgreSQL with peak memory under
300 MB; 1,000,000 rows on PostgreSQL under 90 s.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {("sqlite", 100_000): 15.0, ("postgresql", 100_000): 10.0, ("postgresql", 1_000_000): 90.0}
PEAK_MB = 300

FIRST = ["Ann", "Bob", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jo", "Kemal", "Lea",
         "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás", "Uma", "Vik", "Wen", "Yara"]
LAST = ["Lee", "Smith", "García", "Müller", "Kowalski", "Nguyen", "Okafor", "Rossi", "Sato", "Silva",
        "Ivanova", "Dubois", "Jensen", "Haddad", "Novak", "Park", "Moreau", "Costa", "Berg", "Khan"]
TITLES = ["CEO", "CTO", "Head of BD", "Founder", "Partner", "VP Sales", "Investor", "Analyst", ""]
TAGS = ["", "", "vip", "lead", "conference", "vip;lead", "partner"]


def make_csv(rows: int, seed: int = 7) -> bytes:
    """A contacts CSV with ~5% rows repeating an earlier contact and ~1% invalid rows."""
    rnd = random.Random(seed)
    out = io.StringIO()
    out.write("First name,Last name,Email,Phone,Telegram,Company,Job title,Tags\n")
    for n in range(rows):
        roll = rnd.random()
        k = rnd.randrange(max(n, 1)) if roll < 0.05 else n  # a duplicate repeats an earlier row's keys
        first, last = FIRST[k % len(FIRST)], LAST[(k // 7) % len(LAST)]
        email = f"{first.lower()}.{k}@example{k % 50}.com"
        phone = f"+44 20 7{k % 1000:03d} {k // 1000 % 10000:04d}"
        telegram = f"@{first.lower()}_{k}" if k % 3 == 0 else ""
        if 0.05 <= roll < 0.06:  # a bad row: a broken email or a phone without its country code
            email, phone = (f"{first}.{k}-at-example.com", phone) if k % 2 else (email, f"07{k % 10**9:09d}")
        company = f"Company {k % 2000}"
        out.write(f"{first},{last},{email},{phone},{telegram},{company},{TITLES[k % len(TITLES)]},"
                  f"{TAGS[k % len(TAGS)]}\n")
    return out.getvalue().encode()


def run(database_url: str, data: bytes, label: str, rows: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app import create_app
    from app.config import Settings
    from app.extensions import db

    settings = Settings(env="test", secret_key="bench", database_url=database_url, redis_url=_redis(),
                        jwt_secret="bench", access_token_minutes=15, refresh_token_days=30,
                        log_format="text", trusted_proxies=0, ratelimit_enabled=False, force_https=False)
    app = create_app(settings)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        from app.blueprints.crm import importing
        from app.blueprints.crm.importing import jobs as import_jobs
        from app.blueprints.crm.models import Contact
        from tests.factories import make_member

        owner = make_member()
        started, cpu_started = time.perf_counter(), _cpu()
        imp = importing.start_import(owner, "contact", "bench.csv", io.BytesIO(data))
        importing.queue_import(owner, imp, importing.guess_mapping(owner.org_id, "contact", imp.headers))
        db.session.commit()
        uploaded = time.perf_counter()
        import_jobs.run_import(imp.id)
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu_started
        db.session.expire_all()
        live = db.session.scalar(select(func.count()).select_from(Contact)
                                 .where(Contact.org_id == owner.org_id))
        assert imp.status == "done", imp.error
        assert live == imp.created_count, (live, imp.created_count)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        target = TARGETS.get((db.engine.dialect.name, rows))
        print(f"{label}: {rows:,} rows ({len(data) / 1e6:.1f} MB) in {elapsed:.2f} s "
              f"(upload {uploaded - started:.2f} s) = {rows / elapsed:,.0f} rows/s; "
              f"created {imp.created_count:,}, skipped {imp.skipped_count:,}, "
              f"rejected {imp.rejected_count:,}; "
              f"peak RSS {peak:.0f} MB; CPU of this process {cpu:.2f} s")
        if target:
            verdict = "OK" if elapsed < target and peak < PEAK_MB else "MISSED"
            print(f"  target: under {target:.0f} s and {PEAK_MB} MB peak -> {verdict}")
        db.session.remove()
        db.engine.dispose()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_REDIS_DIR = Path(tempfile.mkdtemp(prefix="bench-redis-"))


def _redis() -> str:
    from app.embedded_redis import ensure_embedded_redis

    return ensure_embedded_redis(_REDIS_DIR)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="also run on this (scratch) PostgreSQL database")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    data = make_csv(args.rows)
    try:
        if not args.skip_sqlite:
            path = Path(tempfile.mkdtemp(prefix="bench-import-")) / "bench.sqlite3"
            run(f"sqlite:///{path}", data, "SQLite", args.rows)
        if args.postgres:
            url = args.postgres
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    url = "postgresql+psycopg://" + url[len(prefix):]
            run(url, data, "PostgreSQL", args.rows)
    finally:
        from app.embedded_redis import stop_embedded_redis

        stop_embedded_redis(_REDIS_DIR)


if __name__ == "__main__":
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-instance-"))
    main(sys.argv[1:])
