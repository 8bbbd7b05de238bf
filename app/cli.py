"""Flask CLI commands: demo data, session key rotation and the startup banner."""

from __future__ import annotations

import os

import click
from flask import Flask

from app import demo
from app.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo organization and its team (safe to run again)."""
        created = demo.seed()
        db.session.commit()
        click.echo("Demo data loaded." if created else "Demo data already present.")

    @app.cli.command("rotate-session-keys")
    def rotate_session_keys() -> None:
        """Re-encrypt every Telegram session, and every two-factor secret (kept under keys derived
        from the same ones), with the newest TELEGRAM_SESSION_KEYS key."""
        from flask import current_app

        from app.blueprints.accounts.public import app_vault, rotate_all
        from app.blueprints.auth.public import MfaKeys, reencrypt_mfa_secrets

        count = rotate_all(app_vault())
        secrets = reencrypt_mfa_secrets(MfaKeys(tuple(current_app.config["SETTINGS"].session_keys)))
        db.session.commit()
        click.echo(f"Re-encrypted {count} session(s) and {secrets} two-factor secret(s) with the newest key; "
                   "older keys can now be retired.")

    @app.cli.command("banner")
    def banner() -> None:
        """Print where the app listens and how to sign in to the demo."""
        port = os.environ.get("PORT", "5000")
        click.echo("")
        click.echo(f"  Relay CRM is starting on http://localhost:{port}")
        click.echo(f"  Demo sign-in: {demo.DEMO_EMAIL} / {demo.DEMO_PASSWORD}")
        click.echo("")
