"""A campaign's figures: enrollments by status and reason, and per step and variant what went,
was read and was answered, with the reply rate's 95 % Wilson interval and the A/B decision.

Definitions (stated on the page): *sent* is a step Telegram took; *read* is a sent step the person
read (Telegram's read receipt); *replied* is a sent step that was the last one before the person
wrote back; the reply rate is replied / sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.blueprints.campaigns import audience, variants
from app.blueprints.campaigns.models import Campaign, CampaignSend, Enrollment, SendStatus
from app.extensions import db


@dataclass
class VariantFigures:
    variant_id: int
    letter: str
    weight: int
    queued: int = 0
    sent: int = 0
    read: int = 0
    replied: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def rate(self) -> float | None:
        return variants.rate(self.replied, self.sent) if self.sent else None

    @property
    def interval(self) -> tuple[float, float]:
        return variants.wilson_interval(self.replied, self.sent)


@dataclass
class StepFigures:
    step_id: int
    position: int
    wait_minutes: int
    winner_variant_id: int | None
    winner_chosen_by: str | None
    file_id: int | None = None  # the file the step sends with its text
    file_name: str | None = None
    variants: list[VariantFigures] = field(default_factory=list)
    decision: variants.Decision | None = None

    def total(self, name: str) -> int:
        return sum(getattr(v, name) for v in self.variants)


@dataclass
class CampaignFigures:
    statuses: dict[str, int]
    reasons: dict[str, dict[str, int]]  # status -> reason -> count
    steps: list[StepFigures]

    @property
    def enrolled(self) -> int:
        return sum(self.statuses.values())


def figures(campaign: Campaign) -> CampaignFigures:
    statuses: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    for status, reason, count in db.session.execute(
        select(Enrollment.status, Enrollment.reason, func.count())
        .where(Enrollment.campaign_id == campaign.id)
        .group_by(Enrollment.status, Enrollment.reason)
    ):
        statuses[status] = statuses.get(status, 0) + count
        if reason:
            reasons.setdefault(status, {})[reason] = count
    rows = db.session.execute(
        select(CampaignSend.step_id, CampaignSend.variant_id, CampaignSend.status, func.count(),
               func.count(CampaignSend.replied_at), func.count(CampaignSend.read_at))
        .where(CampaignSend.campaign_id == campaign.id)
        .group_by(CampaignSend.step_id, CampaignSend.variant_id, CampaignSend.status))
    counts: dict[tuple[int, int | None], dict[str, int]] = {}
    for step_id, variant_id, status, count, replied, was_read in rows:
        bucket = counts.setdefault((step_id, variant_id), {})
        bucket[status] = bucket.get(status, 0) + count
        if status == SendStatus.SENT:
            bucket["replied"] = bucket.get("replied", 0) + replied
            bucket["read"] = bucket.get("read", 0) + int(was_read or 0)
    steps = []
    for step in audience.live_steps(campaign):
        figures_ = StepFigures(
            step.id, step.position, step.wait_minutes, step.winner_variant_id, step.winner_chosen_by,
            file_id=step.file_id if step.file_id is not None and step.file else None,
            file_name=step.file.file_name if step.file_id is not None and step.file else None,
        )
        for variant in step.variants:
            bucket = counts.get((step.id, variant.id), {})
            figures_.variants.append(
                VariantFigures(
                    variant.id,
                    variant.letter,
                    variant.weight,
                    queued=bucket.get(SendStatus.QUEUED.value, 0),
                    sent=bucket.get(SendStatus.SENT.value, 0),
                    read=bucket.get("read", 0),
                    replied=bucket.get("replied", 0),
                    failed=bucket.get(SendStatus.FAILED.value, 0),
                    cancelled=bucket.get(SendStatus.CANCELLED.value, 0),
                )
            )
        if sum(1 for v in figures_.variants if v.weight > 0) > 1:
            figures_.decision = variants.decide_winner(
                [variants.VariantStats(v.variant_id, v.sent, v.replied, v.weight) for v in figures_.variants],
                min_sample=campaign.min_sample,
            )
        steps.append(figures_)
    return CampaignFigures(statuses, reasons, steps)
