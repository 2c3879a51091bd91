"""The table bench/all.py prints: ratios per round, medians and ranges, goals met or not."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from measures import Goal, Measure, markdown, spread  # noqa: E402


def test_ratio_is_taken_per_round_and_its_median_decides_the_goal() -> None:
    # Round 2 was slow for both: per round the ratios are 0.5, 0.7, 0.65 (median 0.65);
    # the ratio of the medians (650 / 1000) would hide that one round missed.
    measure = Measure(
        "idle poll", [500.0, 350.0, 650.0], reference=[1000.0, 500.0, 1000.0], goal=Goal("≥ 0.60", at_least=0.60)
    )
    assert measure.ratios() == [0.5, 0.7, 0.65]
    assert measure.met() == "yes, not every round"
    assert measure.row()[3] == "0.65 (0.50-0.70)"


def test_a_goal_missed_on_the_median_is_not_met() -> None:
    measure = Measure("lines", [100.0, 120.0], reference=[1000.0, 1000.0], goal=Goal("≥ 0.25", at_least=0.25))
    assert measure.met() == "no"
    assert measure.row()[1:6] == ["110 (100-120)/s", "1,000/s", "0.11 (0.10-0.12)", "≥ 0.25", "no"]


def test_an_upper_bound_on_the_ratio() -> None:
    start = Measure(
        "start", [0.9, 1.0, 1.1], fmt=".2f", unit=" s", reference=[0.8, 0.9, 1.0], goal=Goal("≤ 1.2", at_most=1.2)
    )
    assert start.met() == "yes"
    over = Measure("start", [3.9], fmt=".2f", unit=" s", reference=[0.6], goal=Goal("≤ 1.2", at_most=1.2))
    assert over.met() == "no"


def test_a_goal_on_the_value_ignores_the_ratio() -> None:
    memory = Measure(
        "RSS", [349.0, 380.0], unit=" MB", reference=[88.0], goal=Goal("≤ 400 MB", at_most=400, on_value=True)
    )
    assert memory.met() == "yes"  # the ratio (about 4) is far above 400 MB's bound, the value is not
    assert memory.ratios() == [349.0 / 88.0, 380.0 / 88.0]
    held = Measure("held", [9_999], unit="", goal=Goal("all 10,000", at_least=10_000, on_value=True))
    assert held.met() == "no"


def test_an_estimated_reference_says_so() -> None:
    measure = Measure(
        "vs LHC",
        [6210.0, 12420.0],
        reference_name="LHC",
        reference=[621.0],
        estimated=True,
        goal=Goal("≥ ×30", at_least=30),
        ratio_fmt=".1f",
        ratio_prefix="×",
    )
    assert measure.ratios() == [10.0, 20.0]
    assert measure.met() == "no (estimated reference)"
    row = measure.row()
    assert row[2] == "LHC ≈ 621/s"
    assert row[3] == "×15.0 (10.0-20.0)"


def test_rows_without_reference_or_goal() -> None:
    measure = Measure("bare app", [20_000.0, 22_000.0], cpu_ms=[0.024, 0.026], wrong=3)
    assert measure.row() == ["bare app", "21,000 (20,000-22,000)/s", "-", "-", "-", "-", "0.025 (0.024-0.026)", "3"]
    assert spread([1.0], ".1f") == "1.0"
    table = markdown([measure]).splitlines()
    assert table[0].startswith("| measure | parley | reference | ratio | goal | met? |")
    assert table[2] == "| " + " | ".join(measure.row()) + " |"
