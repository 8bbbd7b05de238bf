"""A/B variants of a campaign step: assignment by weight, reply-rate intervals, the winner rule."""

import math
from collections import Counter

import pytest

from app.blueprints.campaigns.variants import (
    COLLECTING,
    NO_DIFFERENCE,
    SINGLE_VARIANT,
    WINNER,
    VariantStats,
    choose,
    decide_winner,
    normal_quantile,
    rate,
    two_proportion_p_value,
    wilson_interval,
)

KEYS = [f"{enrollment}:7" for enrollment in range(20_000)]


# choose


def test_choose_gives_the_same_variant_for_the_same_key():
    weights = [(1, 1), (2, 1), (3, 1)]
    first = [choose(weights, key) for key in KEYS[:500]]
    assert [choose(weights, key) for key in KEYS[:500]] == first
    assert len(set(first)) == 3  # deterministic, yet not constant


def test_choose_does_not_depend_on_the_order_of_the_pairs():
    weights = [(1, 2), (2, 5), (3, 1)]
    shuffled = [(3, 1), (1, 2), (2, 5)]
    assert [choose(weights, key) for key in KEYS[:500]] == [choose(shuffled, key) for key in KEYS[:500]]


def test_choose_treats_a_str_key_as_its_utf8_bytes():
    weights = [(1, 1), (2, 1)]
    for key in ["42:7", "ключ:1", "x"]:
        assert choose(weights, key) == choose(weights, key.encode("utf-8"))


def test_choose_splits_keys_by_weight():
    counts = Counter(choose([(10, 1), (20, 3)], key) for key in KEYS)
    assert abs(counts[10] / len(KEYS) - 0.25) <= 0.02
    assert abs(counts[20] / len(KEYS) - 0.75) <= 0.02


def test_choose_splits_three_uneven_weights():
    counts = Counter(choose([(1, 5), (2, 3), (3, 2)], key) for key in KEYS)
    for variant_id, share in [(1, 0.5), (2, 0.3), (3, 0.2)]:
        assert abs(counts[variant_id] / len(KEYS) - share) <= 0.02


def test_choose_never_picks_a_zero_weight_variant():
    chosen = {choose([(1, 0), (2, 4), (3, 0), (4, 1)], key) for key in KEYS}
    assert chosen == {2, 4}


@pytest.mark.parametrize("weights", [[], [(1, 0)], [(1, 0), (2, 0)]])
def test_choose_refuses_weights_with_nothing_positive(weights):
    with pytest.raises(ValueError):
        choose(weights, "1:1")


@pytest.mark.parametrize("weights", [[(1, 3), (2, -1)], [(1, 1), (1, 2)]])
def test_choose_refuses_negative_weights_and_repeated_ids(weights):
    with pytest.raises(ValueError):
        choose(weights, "1:1")


# rate and the normal quantile


def test_rate_is_replies_over_sends_and_none_without_sends():
    assert rate(3, 12) == 0.25
    assert rate(0, 5) == 0.0
    assert rate(0, 0) is None


@pytest.mark.parametrize("replies, sends", [(-1, 5), (1, -1), (6, 5)])
def test_rate_refuses_impossible_counts(replies, sends):
    with pytest.raises(ValueError):
        rate(replies, sends)


@pytest.mark.parametrize(
    "p, z",
    [
        # Published values of the standard normal quantile.
        (0.975, 1.959963985),
        (0.995, 2.575829304),
        (0.9, 1.281551566),
        (0.5, 0.0),
        (0.025, -1.959963985),
        (1e-10, -6.361340902),
    ],
)
def test_normal_quantile_matches_known_values(p, z):
    assert normal_quantile(p) == pytest.approx(z, abs=1e-6)


def test_normal_quantile_inverts_the_normal_cdf():
    for p in [1e-12, 1e-6, 0.001, 0.02425, 0.1, 0.3, 0.7, 0.97575, 0.999, 1 - 1e-9]:
        z = normal_quantile(p)
        assert 0.5 * math.erfc(-z / math.sqrt(2)) == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_normal_quantile_refuses_p_outside_the_open_unit_interval(p):
    with pytest.raises(ValueError):
        normal_quantile(p)


# wilson_interval


def test_wilson_interval_matches_the_known_value_for_10_of_100():
    lower, upper = wilson_interval(10, 100)
    assert lower == pytest.approx(0.0552, abs=1e-4)
    assert upper == pytest.approx(0.1744, abs=1e-4)


def test_wilson_interval_is_the_whole_range_without_trials():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_with_no_successes_starts_at_zero():
    # Upper bound z^2 / (n + z^2) = 3.841459 / 13.841459 = 0.27753.
    lower, upper = wilson_interval(0, 10)
    assert lower == 0.0
    assert upper == pytest.approx(0.27753, abs=1e-5)


def test_wilson_interval_with_all_successes_ends_at_one():
    # Lower bound n / (n + z^2) = 10 / 13.841459 = 0.72247.
    lower, upper = wilson_interval(10, 10)
    assert lower == pytest.approx(0.72247, abs=1e-5)
    assert upper == 1.0


def test_wilson_interval_widens_with_confidence_and_narrows_with_trials():
    low95, high95 = wilson_interval(10, 100)
    low99, high99 = wilson_interval(10, 100, confidence=0.99)
    assert low99 < low95 and high99 > high95
    low_big, high_big = wilson_interval(100, 1000)
    assert low95 < low_big and high_big < high95


@pytest.mark.parametrize(
    "successes, trials, confidence", [(-1, 10, 0.95), (11, 10, 0.95), (1, 10, 0.0), (1, 10, 1.0)]
)
def test_wilson_interval_refuses_invalid_input(successes, trials, confidence):
    with pytest.raises(ValueError):
        wilson_interval(successes, trials, confidence)


# two_proportion_p_value


def test_p_value_for_30_of_100_against_10_of_100():
    # pooled p = 40/200 = 0.2; se = sqrt(0.2 * 0.8 * (1/100 + 1/100)) = sqrt(0.0032) = 0.056569;
    # z = (0.3 - 0.1) / 0.056569 = 3.5355; p = erfc(3.5355 / sqrt 2) = erfc(2.5) = 0.000407.
    assert two_proportion_p_value(30, 100, 10, 100) == pytest.approx(0.000407, rel=1e-3)


def test_p_value_for_30_of_100_against_18_of_100():
    # pooled p = 48/200 = 0.24; se = sqrt(0.24 * 0.76 * 0.02) = sqrt(0.003648) = 0.060399;
    # z = 0.12 / 0.060399 = 1.98679; p = erfc(1.98679 / sqrt 2) = 0.04694.
    assert two_proportion_p_value(30, 100, 18, 100) == pytest.approx(0.04694, rel=1e-3)


def test_p_value_with_unequal_sample_sizes():
    # pooled p = 60/300 = 0.2; se = sqrt(0.2 * 0.8 * (1/100 + 1/200)) = sqrt(0.0024) = 0.048990;
    # z = (0.3 - 0.15) / 0.048990 = 3.06186; p = erfc(3.06186 / sqrt 2) = 0.0022001.
    assert two_proportion_p_value(30, 100, 30, 200) == pytest.approx(0.0022001, rel=1e-3)


def test_p_value_does_not_depend_on_which_side_is_first():
    assert two_proportion_p_value(30, 100, 10, 100) == two_proportion_p_value(10, 100, 30, 100)


def test_p_value_is_one_for_equal_rates():
    assert two_proportion_p_value(20, 100, 40, 200) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "s1, n1, s2, n2",
    [(0, 0, 0, 0), (0, 0, 5, 10), (5, 10, 0, 0), (0, 100, 0, 100), (100, 100, 50, 50)],
)
def test_p_value_is_one_when_the_test_is_undefined(s1, n1, s2, n2):
    assert two_proportion_p_value(s1, n1, s2, n2) == 1.0


def test_p_value_refuses_more_successes_than_trials():
    with pytest.raises(ValueError):
        two_proportion_p_value(11, 10, 1, 10)


# decide_winner


def test_decision_collects_until_every_live_variant_has_the_minimum_sample():
    decision = decide_winner(
        [VariantStats(1, 100, 30), VariantStats(2, 60, 2), VariantStats(3, 3, 0, weight=0)], min_sample=100
    )
    assert decision.state == COLLECTING
    assert decision.winner_id is None
    assert decision.p_value is None
    assert decision.sends_needed == 40
    assert decision.shortfall == ((2, 40),)


def test_decision_keeps_collecting_even_when_the_early_gap_is_huge():
    decision = decide_winner([VariantStats(1, 60, 50), VariantStats(2, 99, 0)], min_sample=100)
    assert decision.state == COLLECTING
    assert decision.sends_needed == 41
    assert decision.shortfall == ((1, 40), (2, 1))


def test_decision_picks_the_better_of_two_variants_when_significant():
    decision = decide_winner([VariantStats(1, 100, 10), VariantStats(2, 100, 30)], min_sample=100)
    assert decision.state == WINNER
    assert decision.winner_id == 2
    assert decision.leader_id == 2
    assert decision.p_value == pytest.approx(0.000407, rel=1e-3)
    assert decision.threshold == 0.05


def test_decision_finds_no_difference_between_two_close_variants():
    decision = decide_winner([VariantStats(1, 100, 30), VariantStats(2, 100, 20)], min_sample=100)
    assert decision.state == NO_DIFFERENCE
    assert decision.winner_id is None
    assert decision.leader_id == 1
    assert decision.p_value == pytest.approx(0.10247, rel=1e-3)


def test_decision_picks_a_winner_of_three_when_it_beats_both_others():
    # 30/100 vs 10/100: p = 0.000407; 30/100 vs 12/100: p = 0.00178; both below 0.05 / 2.
    stats = [VariantStats(1, 100, 10), VariantStats(2, 100, 30), VariantStats(3, 100, 12)]
    decision = decide_winner(stats, min_sample=100)
    assert decision.state == WINNER
    assert decision.winner_id == 2
    assert decision.threshold == 0.025
    assert decision.p_value == pytest.approx(0.001779, rel=1e-3)


def test_decision_of_three_needs_the_leader_to_beat_every_other_variant():
    # 30/100 beats 10/100 (p = 0.0004) but not 20/100 (p = 0.102).
    stats = [VariantStats(1, 100, 30), VariantStats(2, 100, 10), VariantStats(3, 100, 20)]
    decision = decide_winner(stats, min_sample=100)
    assert decision.state == NO_DIFFERENCE
    assert decision.winner_id is None
    assert decision.p_value == pytest.approx(0.10247, rel=1e-3)


def test_bonferroni_turns_a_borderline_win_of_three_into_no_difference():
    # 30/100 vs 18/100 has p = 0.0469: below 0.05, so it wins as one of two ...
    pair = decide_winner([VariantStats(1, 100, 30), VariantStats(2, 100, 18)], min_sample=100)
    assert pair.state == WINNER and pair.winner_id == 1
    # ... but not as one of three, where each comparison must be below 0.05 / 2 = 0.025.
    stats = [VariantStats(1, 100, 30), VariantStats(2, 100, 18), VariantStats(3, 100, 18)]
    decision = decide_winner(stats, min_sample=100)
    assert decision.state == NO_DIFFERENCE
    assert decision.winner_id is None
    assert decision.threshold == 0.025
    assert decision.p_value == pytest.approx(0.04694, rel=1e-3)


def test_a_tie_on_the_best_rate_has_no_winner():
    decision = decide_winner([VariantStats(1, 100, 20), VariantStats(2, 100, 20)], min_sample=100)
    assert decision.state == NO_DIFFERENCE
    assert decision.winner_id is None
    assert decision.leader_id is None


def test_a_tie_of_equal_fractions_has_no_winner_even_against_a_clear_loser():
    # 33/99 and 34/102 are both exactly 1/3, and both beat 5/100 by far.
    stats = [VariantStats(1, 99, 33), VariantStats(2, 102, 34), VariantStats(3, 100, 5)]
    decision = decide_winner(stats, min_sample=99)
    assert decision.state == NO_DIFFERENCE
    assert decision.winner_id is None
    assert decision.leader_id is None


def test_a_zero_weight_variant_takes_no_part_in_the_decision():
    # Variant 3 is paused: its high rate and its small sample change nothing.
    stats = [VariantStats(1, 100, 30), VariantStats(2, 100, 10), VariantStats(3, 10, 9, weight=0)]
    decision = decide_winner(stats, min_sample=100)
    assert decision.state == WINNER
    assert decision.winner_id == 1
    assert decision.threshold == 0.05


def test_a_single_live_variant_has_nothing_to_compare():
    stats = [VariantStats(1, 150, 30), VariantStats(2, 40, 1, weight=0)]
    decision = decide_winner(stats, min_sample=100)
    assert decision.state == SINGLE_VARIANT
    assert decision.winner_id is None
    assert decision.p_value is None


def test_a_stricter_alpha_withholds_the_win():
    stats = [VariantStats(1, 200, 50), VariantStats(2, 200, 30)]  # p = 0.0124
    assert decide_winner(stats, min_sample=100).state == WINNER
    assert decide_winner(stats, min_sample=100, alpha=0.01).state == NO_DIFFERENCE


@pytest.mark.parametrize(
    "stats, min_sample, alpha",
    [
        ([], 100, 0.05),
        ([VariantStats(1, 100, 10, weight=0)], 100, 0.05),
        ([VariantStats(1, 100, 10), VariantStats(1, 100, 20)], 100, 0.05),
        ([VariantStats(1, 10, 11), VariantStats(2, 100, 20)], 100, 0.05),
        ([VariantStats(1, 100, 10), VariantStats(2, 100, 20, weight=-1)], 100, 0.05),
        ([VariantStats(1, 100, 10), VariantStats(2, 100, 20)], 0, 0.05),
        ([VariantStats(1, 100, 10), VariantStats(2, 100, 20)], 100, 0.0),
    ],
)
def test_decide_winner_refuses_invalid_input(stats, min_sample, alpha):
    with pytest.raises(ValueError):
        decide_winner(stats, min_sample=min_sample, alpha=alpha)
