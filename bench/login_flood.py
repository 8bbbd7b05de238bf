"""A sign-in flood against one web process: ``python -m bench.login_flood [--threads N] [--each K]``.

N threads (200: a web process's thread pool) each post K sign-ins to ``/api/auth/signin`` at once,
each thread for an account of its own, half with a wrong password, through the real app on a
fresh SQLite database (rate limits off: the point is what reaches Argon2). Measured: how many
Argon2 checks ran at once (each holds 19 MiB), how much the process grew by, and the answer
times, with the cap (``ARGON2_CONCURRENCY``, 4) and, for comparison, ``--uncapped`` (the cap
raised to N). The growth also counts what 200 threads of requests hold besides Argon2.

Targets: Argon2 checks at once never above the cap; every request answered with 200 or 401 (or
503 "busy" past the 10 s wait), none failing.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ARGON2_MB = 19


def _rss_mb() -> float:
    """The process's current resident memory (Linux /proc), in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(threads: int, each: int, cap: int) -> dict:
    from dataclasses import replace

    os.environ["INSTANCE_PATH"] = tempfile.mkdtemp(prefix="bench-login-")
    from app import create_app
    from app.blueprints.auth import passwords
    from app.config import Settings
    from app.extensions import db
    from tests.factories import PASSWORD, make_member

    database = Path(os.environ["INSTANCE_PATH"]) / "bench.sqlite3"
    settings = replace(Settings.from_env(), database_url=f"sqlite:///{database}", ratelimit_enabled=False)
    app = create_app(settings)
    passwords._slots = threading.BoundedSemaphore(cap)
    state = {"now": 0, "most": 0}
    lock = threading.Lock()
    real = passwords._hasher

    class Counted:
        def __getattr__(self, name):  # hash, check_needs_rehash: as they are
            return getattr(real, name)

        def verify(self, stored, password):
            with lock:
                state["now"] += 1
                state["most"] = max(state["most"], state["now"])
            try:
                return real.verify(stored, password)
            finally:
                with lock:
                    state["now"] -= 1

    passwords._hasher = Counted()
    with app.app_context():
        db.create_all()
        # One account per thread: a flood of many addresses (credential stuffing), so that the
        # per-address lockout does not answer for Argon2.
        emails = [make_member().user.email for _ in range(threads)]
    client_times: list[float] = []
    statuses: dict[int, int] = {}
    start_gate = threading.Barrier(threads)
    peak = {"mb": _rss_mb()}
    base = peak["mb"]
    sampling = True

    def sample() -> None:
        while sampling:
            peak["mb"] = max(peak["mb"], _rss_mb())
            time.sleep(0.005)

    def flood(n: int) -> None:
        client = app.test_client()
        start_gate.wait()
        for k in range(each):
            password = PASSWORD if (n + k) % 2 else "a wrong password"
            began = time.perf_counter()
            response = client.post("/api/auth/signin", json={"email": emails[n], "password": password})
            elapsed = time.perf_counter() - began
            with lock:
                client_times.append(elapsed)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    workers = [threading.Thread(target=flood, args=(n,)) for n in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - began
    sampling = False
    sampler.join()
    client_times.sort()
    return {"cap": cap, "most_at_once": state["most"], "growth_mb": peak["mb"] - base, "wall_s": wall,
            "p50_s": client_times[len(client_times) // 2],
            "p95_s": client_times[int(len(client_times) * 0.95)], "statuses": statuses}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--each", type=int, default=2)
    parser.add_argument("--cap", type=int, default=int(os.environ.get("ARGON2_CONCURRENCY", "4")))
    parser.add_argument("--uncapped", action="store_true", help="raise the cap to --threads (comparison)")
    args = parser.parse_args(argv)
    cap = args.threads if args.uncapped else args.cap
    result = run(args.threads, args.each, cap)
    answered = sum(result["statuses"].values()) == args.threads * args.each
    failed = sum(n for status, n in result["statuses"].items() if status not in (200, 401, 503))
    print(f"login flood: {args.threads} threads x {args.each} sign-ins, Argon2 cap {cap}")
    print(f"  Argon2 checks at once: {result['most_at_once']}  (target: <= {cap}), "
          f"so at most {result['most_at_once'] * ARGON2_MB} MiB in Argon2")
    print(f"  process growth during the flood: {result['growth_mb']:.0f} MB")
    print(f"  answers: {result['statuses']}  in {result['wall_s']:.1f} s; "
          f"p50 {result['p50_s'] * 1000:.0f} ms, p95 {result['p95_s'] * 1000:.0f} ms")
    print(f"  peak RSS of the run: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"  answered: {answered}, failed: {failed}  (target: all answered, none failed)")
    ok = result["most_at_once"] <= cap and answered and not failed
    print("  met" if ok else "  MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
