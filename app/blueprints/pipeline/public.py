"""What other domains may use of the pipeline: pipelines and stages, moving a deal (the one
stage-entry path, rules enforced), and the pipeline's events. The rest of the package is private."""

from app.blueprints.pipeline import panels, stage_keeper  # noqa: F401 - registered with the CRM on import
from app.blueprints.pipeline.events import DealLost, DealMoved, DealWon
from app.blueprints.pipeline.models import Pipeline, Stage, StageKind, StageMove
from app.blueprints.pipeline.moves import move_to_stage
from app.blueprints.pipeline.rules import RuleBroken
from app.blueprints.pipeline.service import create_pipeline, default_pipeline, pipelines, stages, update_stage

__all__ = [
    "DealLost", "DealMoved", "DealWon", "Pipeline", "RuleBroken", "Stage", "StageKind", "StageMove",
    "create_pipeline", "default_pipeline", "move_to_stage", "pipelines", "stages", "update_stage",
]
