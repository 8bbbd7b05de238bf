"""Live boards: deal events ring each organization's doorbell once per transaction.

The fragment names the pipelines and stages that changed; each open board then re-fetches those
columns with its own filters (board.js), so a viewer filtering on "my deals" never receives
someone else's cards, and a bulk move of thousands of deals is one refresh, not thousands.
"""

from __future__ import annotations

from collections import defaultdict

from markupsafe import escape

from app.blueprints.crm.public import DealEvent
from app.blueprints.pipeline.events import DealMoved
from app.events import subscribe
from app.realtime import Connection, publish_now, renderer

KIND = "board.changed"


def ring_boards(events: list[DealEvent]) -> None:
    changed: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for event in events:
        if event.pipeline_id is not None and event.stage_id is not None:
            changed[event.org_id][event.pipeline_id].add(event.stage_id)
        if isinstance(event, DealMoved) and event.from_pipeline_id is not None \
                and event.from_stage_id is not None:
            changed[event.org_id][event.from_pipeline_id].add(event.from_stage_id)
    for org_id, pipelines in changed.items():
        publish_now(org_id, KIND, pipelines={str(p): sorted(s) for p, s in pipelines.items()})


subscribe(DealEvent, ring_boards, batch=True)


@renderer(KIND)
def board_doorbell(event: dict, viewer: Connection) -> str:
    """One marker per changed pipeline; a board showing that pipeline refreshes those columns."""
    return "".join(
        f'<div id="board-live-{int(pipeline_id)}" class="board-live" hidden hx-swap-oob="true" '
        f'data-stages="{escape(",".join(str(int(s)) for s in stages))}"></div>'
        for pipeline_id, stages in event["pipelines"].items())
