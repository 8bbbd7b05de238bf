"""``python -m bench.crm_list [--rows N] [-n N] [--postgres URL]``: list and search speed.

Seeds one organization with 100,000 contacts (bulk inserts, ``search_text`` filled as the service
would) into a fresh SQLite file (or the PostgreSQL database at URL: its tables are dropped and
re-created), then times, through the Flask test client with a signed-in session, the HTMX
fragments the contacts page asks for: the first page, a deep page, and search-as-you-type.

Target: every fragment under 50 ms server time at p95.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta

from bench import scratch

TARGET_MS = 50.0
FIRST = ["Ann", "Anna", "Boris", "Chen", "Dana", "Emeka", "Fatima", "Grace", "Hiro", "Ines", "Joanna",
         "Karl", "Leila", "Marco", "Nadia", "Oleg", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma"]
LAST = ["Lee", "Smith", "Ivanova", "Okafor", "Garcia", "Kim", "Nakamura", "Rossi", "Novak", "Haddad",
        "Brown", "Schmidt", "Dubois", "Silva", "Khan", "Johansson", "Murphy", "Cohen", "Tanaka", "Popescu"]


def _settings(database_url: str):
    from app.config import Settings

    return Settings(env="test", secret_key="bench-secret", database_url=database_url, redis_url=None,
                    jwt_secret="bench-secret", access_token_minutes=15, refresh_token_days=30,
                    log_format="text", trusted_proxies=0, ratelimit_enabled=False, force_https=False)


def _fresh_schema(postgres: bool) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db

    if postgres:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()
    db.session.remove()


def seed(rows: int):
    """One org, four members, 1,000 companies, ``rows`` contacts; returns the owner membership."""
    from sqlalchemy import insert

    from app.blueprints.crm.models import Company, Contact, Tag, contact_tag
    from app.blueprints.crm.records import service
    from app.blueprints.team.permissions import Role
    from app.db_types import utcnow
    from app.extensions import db
    from tests.factories import add_member, make_member

    rng = random.Random(7)
    owner = make_member(Role.OWNER)
    org = owner.organization
    members = [owner] + [add_member(org, role=role) for role in (Role.MANAGER, Role.AGENT, Role.AGENT)]
    now = utcnow()
    suffixes = ["Labs", "Ltd", "GmbH", "Inc"]
    companies = [{"org_id": org.id, "name": f"{rng.choice(LAST)} {rng.choice(suffixes)} {n}",
                  "custom": {}, "created_at": now, "updated_at": now} for n in range(1000)]
    for company in companies:
        company["search_text"] = service.search_text_from("company", company)
    db.session.execute(insert(Company), companies)
    company_rows = db.session.execute(
        db.select(Company.id, Company.name).where(Company.org_id == org.id)).all()
    tags = [Tag(org_id=org.id, name=name) for name in ("vip", "conference", "cold", "partner")]
    db.session.add_all(tags)
    db.session.flush()
    batch, links = [], []
    for n in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company_id, company_name = rng.choice(company_rows) if n % 3 else (None, None)
        values = {
            "org_id": org.id, "first_name": first, "last_name": f"{last}", "custom": {},
            "email": f"{first.lower()}.{last.lower()}.{n}@example.com",
            "phone": f"+1415{n:07d}" if n % 2 else f"+44207{n:06d}",
            "telegram_username": f"tg_{first.lower()}{n}" if n % 5 == 0 else None,
            "company_id": company_id, "owner_id": members[n % 4].user_id if n % 7 else None,
            "created_at": now - timedelta(minutes=n), "updated_at": now, "do_not_contact": False,
        }
        values["search_text"] = service.search_text_from("contact", values, company_name=company_name)
        batch.append(values)
        if len(batch) == 5000:
            db.session.execute(insert(Contact), batch)
            batch = []
    if batch:
        db.session.execute(insert(Contact), batch)
    ids = db.session.scalars(db.select(Contact.id).where(Contact.org_id == org.id)).all()
    links = [{"contact_id": i, "tag_id": tags[i % 4].id} for i in ids if i % 6 == 0]
    db.session.execute(insert(contact_tag), links)
    db.session.commit()
    return owner


def _time(client, url: str, n: int) -> list[float]:
    headers = {"HX-Request": "true"}
    client.get(url, headers=headers)  # warm caches and the statement cache
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database to wipe and use")
    args = parser.parse_args(argv)

    with scratch(args.postgres) as database_url:
        return _run(args, database_url)


def _run(args: argparse.Namespace, database_url: str) -> int:
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from tests.conftest import sign_in_as

    app = create_app(_settings(database_url))
    with app.app_context():
        _fresh_schema(bool(args.postgres))
        started = time.perf_counter()
        owner = seed(args.rows)
        if db.engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        print(f"seeded {args.rows:,} contacts on {database_url.split(':')[0]} in "
              f"{time.perf_counter() - started:.1f} s")
        client = app.test_client()
        sign_in_as(client, owner)
        deep = max(1, min(1500, args.rows // 50))
        cases = [("list, first page", "/contacts"), (f"list, page {deep}", f"/contacts?page={deep}"),
                 ("list, sorted by name", "/contacts?sort=name"),
                 ("search q=ann", "/contacts?q=ann"), ("search q=+1415", "/contacts?q=%2B1415"),
                 ("search q=@tg_", "/contacts?q=%40tg_"), ("search q=ann lee", "/contacts?q=ann+lee")]
        failed = False
        print(f"{'fragment':<24}{'p50 ms':>9}{'p95 ms':>9}   target p95 < {TARGET_MS:.0f} ms")
        for label, url in cases:
            times = sorted(_time(client, url, args.n))
            p50 = statistics.median(times)
            p95 = times[max(0, round(0.95 * len(times)) - 1)]
            ok = p95 < TARGET_MS
            failed |= not ok
            print(f"{label:<24}{p50:>9.1f}{p95:>9.1f}   {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
