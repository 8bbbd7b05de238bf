"""``python -m workers.telegram``: the telegram process (see ``app.integrations.telegram.runtime``).

One asyncio loop holds the Telethon clients of the accounts this process has leased; run as many
as the accounts need (each takes up to ``TELEGRAM_MAX_ACCOUNTS``). SIGTERM or Ctrl-C lets go of
every account (status offline, leases released) so another process takes them over at once.
Without ``TELEGRAM_API_ID`` it talks to the built-in sandbox Telegram.
"""

from __future__ import annotations

from app import create_app
from app.integrations.telegram.runtime.process import Runtime


def main() -> None:
    app = create_app()
    Runtime(app).run(handle_signals=True)


if __name__ == "__main__":
    main()
