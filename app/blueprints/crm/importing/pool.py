"""Cleaning ahead of the run, in a worker process for big files.

Cleaning (phone numbers above all) costs about as much CPU as everything else the run does, and a
thread cannot overlap it with the run's own Python because of the GIL: a process can. The worker
is spawned, not forked, because the RQ job is itself a forked child holding a database connection
and threads. It gets only plain data (a ``CleanSpec`` and raw rows) and returns cleaned rows; at
most ``AHEAD`` batches are in flight, so memory stays bounded whatever the file's size.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor

from .cleaning import CleanSpec, _Cleaner, _Row

PROCESS_ROWS = 10_000  # files with more data rows than this are cleaned in a worker process
AHEAD = 2  # batches handed to the worker before the run needs them

_worker: _Cleaner | None = None  # the worker process's cleaner: its caches last the whole import


def _start(spec: CleanSpec) -> None:
    global _worker
    _worker = _Cleaner(spec)


def _clean(batch: list[tuple[int, list[str]]]) -> tuple[list[_Row], dict[str, str]]:
    """In the worker: the batch cleaned (cells left out: the run has them), and the tag names it met
    first (the run needs them to create tags)."""
    known = len(_worker.tag_names)
    rows = _worker.clean(batch)
    for row in rows:
        row.cells = []
    return rows, dict(itertools.islice(_worker.tag_names.items(), known, None))


class Cleaning:
    """Batches cleaned in the order they were submitted, by ``cleaner`` itself or by a worker
    process (``spec`` given) that mirrors it."""

    def __init__(self, cleaner: _Cleaner, spec: CleanSpec | None = None) -> None:
        self._cleaner = cleaner
        # (raw batch, its future in the worker | its rows cleaned here ahead | None)
        self._pending: deque[tuple[list[tuple[int, list[str]]], Future | list[_Row] | None]] = deque()
        self._pool = None
        if spec is not None:
            self._pool = ProcessPoolExecutor(1, multiprocessing.get_context("spawn"), _start, (spec,))

    def __enter__(self) -> Cleaning:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, batch: list[tuple[int, list[str]]]) -> None:
        if batch:
            self._pending.append((batch, self._pool.submit(_clean, batch) if self._pool else None))

    def ahead(self) -> None:
        """Without a worker: clean the next batch now (the run calls this while it waits for the
        database)."""
        if self._pending and self._pending[0][1] is None:
            batch = self._pending[0][0]
            self._pending[0] = (batch, self._cleaner.clean(batch))

    def take(self) -> list[_Row]:
        """The oldest submitted batch, cleaned ([] when none is left)."""
        if not self._pending:
            return []
        batch, future = self._pending.popleft()
        if future is None:
            return self._cleaner.clean(batch)
        if isinstance(future, list):
            return future
        rows, tag_names = future.result()
        for row, (_, cells) in zip(rows, batch, strict=True):
            row.cells = cells
        for key, name in tag_names.items():
            self._cleaner.tag_names.setdefault(key, name)
        return rows
