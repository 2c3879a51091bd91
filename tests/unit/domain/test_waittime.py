from parley.domain.waittime import MIN_SAMPLES, estimate

ENOUGH = [10_000, 20_000, 30_000]  # mean 20 s


def test_nobody_online_is_minus_one():
    assert estimate(online_agents=0, free_slots=0, queue_length=0, recent_waits_ms=ENOUGH) == -1


def test_nobody_online_wins_over_missing_history():
    assert estimate(online_agents=0, free_slots=0, queue_length=3, recent_waits_ms=[]) == -1


def test_free_slot_and_empty_queue_is_zero():
    assert estimate(online_agents=1, free_slots=2, queue_length=0, recent_waits_ms=[]) == 0


def test_unlimited_slots_and_empty_queue_is_zero():
    assert estimate(online_agents=1, free_slots=-1, queue_length=0, recent_waits_ms=[]) == 0


def test_too_little_history_is_minus_two():
    few = ENOUGH[: MIN_SAMPLES - 1]
    assert estimate(online_agents=1, free_slots=0, queue_length=1, recent_waits_ms=few) == -2


def test_a_queue_ahead_prevents_zero_even_with_free_slots():
    assert estimate(online_agents=1, free_slots=1, queue_length=2, recent_waits_ms=[]) == -2


def test_positive_estimate_is_mean_times_place_over_agents():
    # mean 20 s, visitor would be 3rd in line (two waiting), 2 agents: 20 * 3 / 2 = 30.
    assert estimate(online_agents=2, free_slots=0, queue_length=2, recent_waits_ms=ENOUGH) == 30


def test_positive_estimate_with_no_queue_but_no_slot():
    assert estimate(online_agents=1, free_slots=0, queue_length=0, recent_waits_ms=ENOUGH) == 20


def test_positive_estimate_is_at_least_one_second():
    assert estimate(online_agents=10, free_slots=0, queue_length=0, recent_waits_ms=[10, 10, 10]) == 1
