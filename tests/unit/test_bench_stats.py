"""bench/stats.py: medians, spreads, ratios, targets and number formatting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.stats import (  # noqa: E402
    PODCTL,
    PODMAN,
    Metric,
    Summary,
    Target,
    delta,
    fmt_ratio,
    fmt_summary,
    fmt_value,
    metric_dict,
    ratio,
    verdict,
)


def metric(podctl: list[float], podman: list[float], **kw: object) -> Metric:
    m = Metric("m", **kw)  # type: ignore[arg-type]
    for v in podctl:
        m.add(PODCTL, v)
    for v in podman:
        m.add(PODMAN, v)
    return m


def test_summary_median_min_max() -> None:
    s = Summary.of([3.0, 1.0, 2.0, 10.0])
    assert s is not None
    assert (s.median, s.min, s.max, s.n) == (2.5, 1.0, 10.0, 4)
    odd = Summary.of([5.0, 1.0, 3.0])
    assert odd is not None and odd.median == 3.0
    assert Summary.of([]) is None


def test_ratio_is_podctl_over_podman_medians() -> None:
    assert ratio(metric([1.0, 2.0, 3.0], [4.0, 4.0, 100.0])) == pytest.approx(0.5)
    assert ratio(metric([1.0], [])) is None
    assert ratio(metric([], [1.0])) is None
    assert ratio(metric([1.0], [0.0])) is None


def test_ratio_targets() -> None:
    fast = metric([0.1], [0.3], target=Target("ratio_max", 0.5))
    slow = metric([0.2], [0.3], target=Target("ratio_max", 0.5))
    assert verdict(fast, [fast]) == "PASS"
    assert verdict(slow, [slow]) == "FAIL"
    more = metric([90.0], [100.0], better="higher", target=Target("ratio_min", 0.8))
    less = metric([70.0], [100.0], better="higher", target=Target("ratio_min", 0.8))
    assert verdict(more, [more]) == "PASS"
    assert verdict(less, [less]) == "FAIL"
    alone = metric([0.1], [], target=Target("ratio_max", 0.5))
    assert verdict(alone, [alone]) == "n/a"
    assert verdict(metric([1.0], [1.0]), []) == "n/a"


def test_absolute_target_needs_only_podctl() -> None:
    ok = metric([60.0, 79.0, 81.0], [], unit="MiB", target=Target("abs_max", 80))
    bad = metric([81.0], [10.0], unit="MiB", target=Target("abs_max", 80))
    assert verdict(ok, [ok]) == "PASS"
    assert verdict(bad, [bad]) == "FAIL"


def test_delta_target_against_baseline_metric() -> None:
    base = Metric("python3 -c pass")
    for v in (0.010, 0.012, 0.011):
        base.add(PODCTL, v)
    near = metric([0.045, 0.050, 0.049], [0.02], target=Target("delta_max", 0.040, base.name))
    near.name = "--version"
    far = metric([0.060], [0.02], target=Target("delta_max", 0.040, base.name))
    far.name = "--help"
    ms = [base, near, far]
    assert verdict(near, ms) == "PASS"
    assert delta(near, ms) == pytest.approx(0.038)
    assert verdict(far, ms) == "FAIL"
    assert verdict(near, [near]) == "n/a"  # no baseline measured
    assert delta(base, ms) is None


def test_target_text() -> None:
    assert Target("ratio_max", 0.5, source="issue 4").text("s") == "ratio <= 0.5 (issue 4)"
    assert Target("ratio_min", 0.8).text("MB/s") == "ratio >= 0.8"
    assert Target("abs_max", 80).text("MiB") == "<= 80.0 MiB"
    assert Target("delta_max", 0.04, "python3 -c pass").text("s") == "<= python3 -c pass + 40.0 ms"
    with pytest.raises(ValueError):
        Target("bogus", 1).text("s")


def test_fmt_value_units() -> None:
    assert fmt_value(0.0421, "s") == "42.1 ms"
    assert fmt_value(1.5, "s") == "1.50 s"
    assert fmt_value(35.62, "MiB") == "35.6 MiB"
    assert fmt_value(1286.4, "MB/s") == "1286 MB/s"
    assert fmt_value(107.6, "KiB") == "108 KiB"
    assert fmt_value(3.0, "count") == "3"


def test_fmt_summary_spread() -> None:
    assert fmt_summary(None, "s") == "-"
    assert fmt_summary(Summary.of([0.042]), "s") == "42.0 ms"
    assert fmt_summary(Summary.of([0.010, 0.012, 0.015]), "s") == "12.0 ms [10.0-15.0]"
    assert fmt_summary(Summary.of([0.9, 1.0, 1.2]), "s") == "1.00 s [900.0 ms-1.20 s]"
    assert fmt_ratio(None) == "-"
    assert fmt_ratio(0.456) == "0.46x"


def test_metric_dict_has_values_summary_ratio_and_verdict() -> None:
    m = metric([1.0, 3.0], [4.0], target=Target("ratio_max", 0.5, source="issue 4"))
    d = metric_dict(m, [m])
    assert d["values"] == {PODCTL: [1.0, 3.0], PODMAN: [4.0]}
    assert d["summary"][PODCTL] == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 2}
    assert d["ratio"] == pytest.approx(0.5)
    assert d["target"]["verdict"] == "PASS"
    assert d["target"]["text"] == "ratio <= 0.5 (issue 4)"
    assert "target" not in metric_dict(Metric("x"), [])
