"""A/B variants of a campaign step: which variant an enrollment gets, and which variant wins.

Pure Python on the standard library, no Flask and no database: the caller loads the weights and
the per-variant counts and stores what this module decides.

- ``choose`` assigns a variant by weight, the same one every time for the same key, so a retried
  job sends the text it picked before even if the assignment was not saved yet.
- ``rate`` and ``wilson_interval`` are what the page shows per variant.
- ``two_proportion_p_value`` and ``decide_winner`` are the automatic pick; the rule is stated in
  ``decide_winner``'s docstring, and the page states the same rule.

``Decision.state`` is a code (``COLLECTING``, ``SINGLE_VARIANT``, ``NO_DIFFERENCE``, ``WINNER``);
the wording in each language belongs to the page.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

COLLECTING = "collecting"
SINGLE_VARIANT = "single_variant"
NO_DIFFERENCE = "no_difference"
WINNER = "winner"

_HASH_BYTES = 16  # 128 bits: modulo bias against any realistic total weight is nil


def choose(weights: Sequence[tuple[int, int]], key: str | bytes) -> int:
    """Return the variant id for ``key``, drawn by weight from ``(variant_id, weight)`` pairs.

    The same key and the same weights always give the same variant (SHA-256 of the key, not
    ``hash()``, which changes between processes), whatever the order of the pairs. A variant of
    weight 0 is never chosen. Use a key unique per enrollment and step, e.g.
    ``f"{enrollment_id}:{step_id}"``.

    Raises ValueError when no weight is positive, a weight is negative, or an id repeats.
    """
    pairs = sorted((int(variant_id), int(weight)) for variant_id, weight in weights)
    ids = [variant_id for variant_id, _ in pairs]
    if len(set(ids)) != len(ids):
        raise ValueError("variant ids repeat")
    if any(weight < 0 for _, weight in pairs):
        raise ValueError("a weight is negative")
    total = sum(weight for _, weight in pairs)
    if total <= 0:
        raise ValueError("no variant has a positive weight")
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    digest = hashlib.sha256(data).digest()[:_HASH_BYTES]
    point = int.from_bytes(digest, "big") % total
    for variant_id, weight in pairs:
        if point < weight:
            return variant_id
        point -= weight
    raise AssertionError("unreachable: point < total")  # pragma: no cover


def rate(replies: int, sends: int) -> float | None:
    """Reply rate ``replies / sends``, or None when nothing was sent.

    Raises ValueError for negative counts or more replies than sends.
    """
    _check_counts(replies, sends)
    if sends == 0:
        return None
    return replies / sends


# Acklam's rational approximation of the normal quantile (relative error below 1.15e-9), refined
# by one Halley step on math.erfc to about machine precision.
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (
    7.784695709041462e-03,
    3.224671290700398e-01,
    2.445134137142996e00,
    3.754408661907416e00,
)
_P_LOW = 0.02425


def _tail(q: float) -> float:
    c, d = _C, _D
    numerator = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
    denominator = (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
    return numerator / denominator


def normal_quantile(p: float) -> float:
    """The z with P(Z <= z) = p for a standard normal Z, e.g. 1.959964 for 0.975.

    Raises ValueError unless 0 < p < 1.
    """
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if p < _P_LOW:
        x = _tail(math.sqrt(-2.0 * math.log(p)))
    elif p <= 1.0 - _P_LOW:
        q = p - 0.5
        r = q * q
        a, b = _A, _B
        numerator = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
        denominator = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0
        x = numerator / denominator
    else:
        x = -_tail(math.sqrt(-2.0 * math.log1p(-p)))
    error = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    u = error * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the proportion ``successes / trials``, within 0..1.

    ``(0.0, 1.0)`` for 0 trials; the lower bound is exactly 0.0 with no successes and the upper
    exactly 1.0 when all succeed. Raises ValueError for negative counts, more successes than
    trials, or a confidence outside (0, 1).
    """
    _check_counts(successes, trials)
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be strictly between 0 and 1")
    if trials == 0:
        return (0.0, 1.0)
    z = normal_quantile(1.0 - (1.0 - confidence) / 2.0)
    z2 = z * z
    n = trials
    p_hat = successes / n
    denominator = 1.0 + z2 / n
    center = (p_hat + z2 / (2.0 * n)) / denominator
    half = z * math.sqrt(p_hat * (1.0 - p_hat) / n + z2 / (4.0 * n * n)) / denominator
    lower = 0.0 if successes == 0 else max(0.0, center - half)
    upper = 1.0 if successes == trials else min(1.0, center + half)
    return (lower, upper)


def two_proportion_p_value(s1: int, n1: int, s2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of ``s1/n1`` against ``s2/n2``.

    z = (s1/n1 - s2/n2) / sqrt(p(1-p)(1/n1 + 1/n2)) with p = (s1+s2)/(n1+n2), and
    p-value = erfc(|z| / sqrt(2)). 1.0 when the test is undefined: a side with no trials, or no
    successes or only successes on both sides together. Raises ValueError for invalid counts.
    """
    _check_counts(s1, n1)
    _check_counts(s2, n2)
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (s1 + s2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return 1.0
    z = (s1 / n1 - s2 / n2) / math.sqrt(variance)
    return min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))


@dataclass(frozen=True)
class VariantStats:
    """One variant's counts. ``weight`` is its current weight; 0 takes it out of the decision."""

    variant_id: int
    sends: int
    replies: int
    weight: int = 1


@dataclass(frozen=True)
class Decision:
    """What ``decide_winner`` concluded.

    - ``winner_id``: the winning variant, only when ``state == WINNER``.
    - ``state``: ``COLLECTING``, ``SINGLE_VARIANT``, ``NO_DIFFERENCE`` or ``WINNER``.
    - ``p_value``: the largest raw p-value of the leader's comparisons (the one that decides), or
      None when no test ran (collecting, a single variant).
    - ``threshold``: the Bonferroni-corrected level ``alpha / (k - 1)`` each p-value must be below,
      or None when no test ran.
    - ``leader_id``: the variant with the highest reply rate once the test ran, None on a tie.
    - ``sends_needed``: while collecting, the sends still missing before the test can run (the sum
      of ``shortfall``); 0 otherwise.
    - ``shortfall``: while collecting, ``(variant_id, sends still missing)`` for each variant below
      the minimum sample, by id; empty otherwise.
    """

    winner_id: int | None
    state: str
    p_value: float | None
    threshold: float | None = None
    leader_id: int | None = None
    sends_needed: int = 0
    shortfall: tuple[tuple[int, int], ...] = ()


def decide_winner(stats: Sequence[VariantStats], *, min_sample: int, alpha: float = 0.05) -> Decision:
    """Pick the winning variant of a step, or say why there is none yet.

    The rule (the page states it too):

    1. Only variants with a positive weight take part.
    2. Wait until every one of them has at least ``min_sample`` sends (state ``COLLECTING``,
       with the sends still missing); a step with a single such variant has nothing to compare
       (state ``SINGLE_VARIANT``).
    3. Take the variant with the highest reply rate (replies / sends). If two or more share the
       highest rate, there is no winner (state ``NO_DIFFERENCE``).
    4. Compare it with each of the other k - 1 variants by the two-sided pooled two-proportion
       z-test. It wins (state ``WINNER``) only if every p-value is below ``alpha / (k - 1)``
       (Bonferroni correction); otherwise there is no winner (state ``NO_DIFFERENCE``).

    A ``NO_DIFFERENCE`` can turn into a winner later, as more sends come in.

    Raises ValueError when no variant has a positive weight, ids repeat, counts are invalid,
    ``min_sample`` is below 1, or ``alpha`` is outside (0, 1).
    """
    if min_sample < 1:
        raise ValueError("min_sample must be at least 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be strictly between 0 and 1")
    ids = [item.variant_id for item in stats]
    if len(set(ids)) != len(ids):
        raise ValueError("variant ids repeat")
    for item in stats:
        _check_counts(item.replies, item.sends)
        if item.weight < 0:
            raise ValueError("a weight is negative")
    active = sorted((item for item in stats if item.weight > 0), key=lambda item: item.variant_id)
    if not active:
        raise ValueError("no variant has a positive weight")

    shortfall = tuple(
        (item.variant_id, min_sample - item.sends) for item in active if item.sends < min_sample
    )
    if shortfall:
        return Decision(
            winner_id=None,
            state=COLLECTING,
            p_value=None,
            sends_needed=sum(missing for _, missing in shortfall),
            shortfall=shortfall,
        )
    if len(active) == 1:
        return Decision(winner_id=None, state=SINGLE_VARIANT, p_value=None)

    threshold = alpha / (len(active) - 1)
    # Exact fractions, so that 1/3 and 2/6 tie rather than differ in the last bit of a float.
    best_rate = max(Fraction(item.replies, item.sends) for item in active)
    leaders = [item for item in active if Fraction(item.replies, item.sends) == best_rate]
    if len(leaders) > 1:
        return Decision(winner_id=None, state=NO_DIFFERENCE, p_value=1.0, threshold=threshold)

    leader = leaders[0]
    worst = max(
        two_proportion_p_value(leader.replies, leader.sends, other.replies, other.sends)
        for other in active
        if other is not leader
    )
    won = worst < threshold
    return Decision(
        winner_id=leader.variant_id if won else None,
        state=WINNER if won else NO_DIFFERENCE,
        p_value=worst,
        threshold=threshold,
        leader_id=leader.variant_id,
    )


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0:
        raise ValueError("counts must not be negative")
    if successes > trials:
        raise ValueError("more successes than trials")
