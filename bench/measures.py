"""The one table bench/all.py prints: each measure beside its reference, the ratio, the goal, met or not.

Kept apart from the scripts (no servers, no imports beyond the standard library) so that a unit test
can check the arithmetic: tests/unit/test_bench_table.py.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

HEADERS = ["measure", "parley", "reference", "ratio", "goal", "met?", "server CPU ms/req", "wrong"]


@dataclass(frozen=True)
class Goal:
    """A bound on the ratio (or on the value itself), as issue 12's table states it."""

    text: str  # as printed, e.g. "≥ 0.60"
    at_least: float | None = None
    at_most: float | None = None
    on_value: bool = False  # the bound is on the measured value (MB, count), not on the ratio

    def holds(self, x: float) -> bool:
        return (self.at_least is None or x >= self.at_least) and (self.at_most is None or x <= self.at_most)


@dataclass
class Measure:
    """One row: per-round values of parley and of its reference (same rounds, same order)."""

    name: str
    values: list[float]
    fmt: str = ",.0f"  # format of a value (and of the reference)
    unit: str = "/s"
    reference_name: str = ""
    reference: list[float] = field(default_factory=list)  # per round (one value: the same for every round)
    estimated: bool = False  # the reference was not run here but estimated (Live Helper Chat: bench/all.py)
    goal: Goal | None = None
    ratio_fmt: str = ".2f"
    ratio_prefix: str = ""  # "×" for "times faster than" ratios
    cpu_ms: list[float] = field(default_factory=list)  # server CPU ms per request, per round
    wrong: int = 0  # answers without the expected status and body, and stored-line mismatches

    def ratios(self) -> list[float]:
        if not self.reference:
            return []
        reference = self.reference if len(self.reference) == len(self.values) else self.reference[:1] * len(self.values)
        if len(reference) != len(self.values):
            raise ValueError(f"{self.name}: {len(self.reference)} reference values for {len(self.values)} rounds")
        return [value / ref for value, ref in zip(self.values, reference, strict=True)]

    def met(self) -> str:
        """ "yes" or "no" on the median; "yes, not every round" when some round missed it."""
        if self.goal is None:
            return "-"
        series = self.values if self.goal.on_value else self.ratios()
        if not series:
            return "-"
        verdict = "yes" if self.goal.holds(statistics.median(series)) else "no"
        if verdict == "yes" and not all(self.goal.holds(x) for x in series):
            verdict = "yes, not every round"
        if self.estimated:
            verdict += " (estimated reference)"
        return verdict

    def row(self) -> list[str]:
        reference = "-"
        if self.reference:
            approximately = "≈ " if self.estimated else ""
            reference = f"{self.reference_name} {approximately}{spread(self.reference, self.fmt)}{self.unit}".strip()
        ratios = self.ratios()
        return [
            self.name,
            spread(self.values, self.fmt) + self.unit,
            reference,
            self.ratio_prefix + spread(ratios, self.ratio_fmt) if ratios else "-",
            self.goal.text if self.goal else "-",
            self.met(),
            spread(self.cpu_ms, ".3f") if self.cpu_ms else "-",
            str(self.wrong),
        ]


def spread(values: list[float], fmt: str) -> str:
    """The median, and the range over rounds when there is more than one round."""
    median = format(statistics.median(values), fmt)
    if len(values) < 2 or min(values) == max(values):
        return median
    return f"{median} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def markdown(measures: list[Measure]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "| " + " | ".join("---" for _ in HEADERS) + " |"]
    lines += ["| " + " | ".join(m.row()) + " |" for m in measures]
    return "\n".join(lines)
