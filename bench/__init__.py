"""Benchmarks: ``python -m bench.<name>`` prints figures next to their targets."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch(postgres_url: str | None) -> Iterator[str]:
    """A throwaway instance folder (its embedded Redis stopped afterwards) and the database URL to
    use: a SQLite file inside it, or the given PostgreSQL database (its tables get dropped)."""
    workdir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    os.environ["INSTANCE_PATH"] = str(workdir)  # the embedded Redis lives here too
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    if postgres_url:
        url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield url
    finally:
        from app.embedded_redis import stop_embedded_redis

        stop_embedded_redis(workdir / "redis")
        shutil.rmtree(workdir, ignore_errors=True)
