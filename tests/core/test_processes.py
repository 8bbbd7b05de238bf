"""What the processes `make run` starts say and leave behind."""

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_start_banner_names_the_product_and_the_demo_sign_in(app):
    output = app.test_cli_runner().invoke(args=["banner"]).output
    assert "Relay CRM is starting on http://localhost:" in output
    assert "demo@example.com / demo-password-2026" in output


def test_the_web_process_opens_no_control_socket_outside_the_checkout():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["control_socket_disable"] is True
