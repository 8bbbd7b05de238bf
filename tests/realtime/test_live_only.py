"""Realtime is pushed only from each domain's live.py subscribers (ARCHITECTURE: Events)."""

from pathlib import Path

import app

BLUEPRINTS = Path(app.__file__).parent / "blueprints"


def test_no_module_of_a_domain_but_its_live_subscribers_rings_a_doorbell():
    sources = {path: path.read_text() for path in BLUEPRINTS.rglob("*.py") if path.name != "live.py"}
    ringing = [str(path.relative_to(BLUEPRINTS)) for path, source in sources.items()
               if "publish(" in source or "publish_now(" in source]
    assert ringing == []
    assert len(list(BLUEPRINTS.rglob("live.py"))) >= 4  # the scan looks where the subscribers are
