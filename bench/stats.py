"""Statistics and targets for the bench: pure functions, no processes (unit-tested)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

PODCTL = "podctl"
PODMAN = "podman"


@dataclass(frozen=True)
class Summary:
    median: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Summary | None:
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values), len(values))

    def as_dict(self) -> dict[str, float | int]:
        return {"median": self.median, "min": self.min, "max": self.max, "n": self.n}


@dataclass(frozen=True)
class Target:
    """What an issue asks of podctl for one metric.

    kind: "ratio_max" (podctl/podman <= value), "ratio_min" (>= value), "abs_max" (podctl's
    median <= value, in the metric's unit), "delta_max" (podctl's median minus the median of the
    metric `baseline` in the same scenario, measured on podctl's side, <= value).
    """

    kind: str
    value: float
    baseline: str = ""
    source: str = ""

    def text(self, unit: str) -> str:
        if self.kind == "ratio_max":
            t = f"ratio <= {self.value:g}"
        elif self.kind == "ratio_min":
            t = f"ratio >= {self.value:g}"
        elif self.kind == "abs_max":
            t = f"<= {fmt_value(self.value, unit)}"
        elif self.kind == "delta_max":
            t = f"<= {self.baseline} + {fmt_value(self.value, unit)}"
        else:
            raise ValueError(f"unknown target kind {self.kind!r}")
        return f"{t} ({self.source})" if self.source else t


@dataclass
class Metric:
    """One measured quantity of a scenario, with values per participant (podctl, podman)."""

    name: str
    unit: str = "s"
    better: str = "lower"
    target: Target | None = None
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, who: str, value: float) -> None:
        self.values.setdefault(who, []).append(float(value))

    def summary(self, who: str) -> Summary | None:
        return Summary.of(self.values.get(who, []))


def ratio(metric: Metric) -> float | None:
    """podctl's median over podman's, or None when either is missing or podman's is zero."""
    a, b = metric.summary(PODCTL), metric.summary(PODMAN)
    if a is None or b is None or b.median == 0:
        return None
    return a.median / b.median


def verdict(metric: Metric, metrics: list[Metric]) -> str:
    """PASS, FAIL or n/a for the metric's target (n/a: no target, or a value is missing)."""
    t = metric.target
    if t is None:
        return "n/a"
    ours = metric.summary(PODCTL)
    if ours is None:
        return "n/a"
    if t.kind in ("ratio_max", "ratio_min"):
        r = ratio(metric)
        if r is None:
            return "n/a"
        ok = r <= t.value if t.kind == "ratio_max" else r >= t.value
    elif t.kind == "abs_max":
        ok = ours.median <= t.value
    elif t.kind == "delta_max":
        base = next((m for m in metrics if m.name == t.baseline), None)
        bs = base.summary(PODCTL) if base else None
        if bs is None:
            return "n/a"
        ok = ours.median - bs.median <= t.value
    else:
        raise ValueError(f"unknown target kind {t.kind!r}")
    return "PASS" if ok else "FAIL"


def delta(metric: Metric, metrics: list[Metric]) -> float | None:
    """For a delta target: podctl's median minus the baseline's (podctl side)."""
    t = metric.target
    if t is None or t.kind != "delta_max":
        return None
    base = next((m for m in metrics if m.name == t.baseline), None)
    a = metric.summary(PODCTL)
    b = base.summary(PODCTL) if base else None
    if a is None or b is None:
        return None
    return a.median - b.median


def fmt_value(v: float, unit: str) -> str:
    if unit == "s":
        if abs(v) < 1:
            return f"{v * 1000:.1f} ms"
        return f"{v:.2f} s"
    if unit == "MiB":
        return f"{v:.1f} MiB"
    if unit == "MB/s":
        return f"{v:.0f} MB/s"
    if unit == "KiB":
        return f"{v:.0f} KiB"
    if unit == "count":
        return f"{v:g}"
    if unit == "x":
        return f"{v:.2f}x"
    return f"{v:g} {unit}".rstrip()


def fmt_summary(s: Summary | None, unit: str) -> str:
    if s is None:
        return "-"
    if s.n == 1:
        return fmt_value(s.median, unit)
    return f"{fmt_value(s.median, unit)} [{fmt_spread(s, unit)}]"


def fmt_spread(s: Summary, unit: str) -> str:
    lo, hi = fmt_value(s.min, unit), fmt_value(s.max, unit)
    lo_n, _, lo_u = lo.partition(" ")
    hi_n, _, hi_u = hi.partition(" ")
    if lo_u == hi_u:
        return f"{lo_n}-{hi_n}"
    return f"{lo}-{hi}"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def metric_dict(metric: Metric, metrics: list[Metric]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": metric.name,
        "unit": metric.unit,
        "better": metric.better,
        "values": {k: list(v) for k, v in metric.values.items()},
        "summary": {k: s.as_dict() for k in metric.values if (s := metric.summary(k)) is not None},
        "ratio": ratio(metric),
    }
    if metric.target is not None:
        out["target"] = {
            "kind": metric.target.kind,
            "value": metric.target.value,
            "baseline": metric.target.baseline or None,
            "text": metric.target.text(metric.unit),
            "verdict": verdict(metric, metrics),
        }
        d = delta(metric, metrics)
        if d is not None:
            out["target"]["delta"] = d
    return out
