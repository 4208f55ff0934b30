"""Kubernetes quantities and the downward API's rounding."""

from __future__ import annotations

from fractions import Fraction

import pytest

from podctl.kube.quantity import ceil_div, format_cpu, format_memory, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Fraction(1, 2)),
        ("2", Fraction(2)),
        (2, Fraction(2)),
        (0.25, Fraction(1, 4)),
        ("1.5", Fraction(3, 2)),
        ("128Mi", Fraction(128 * 2**20)),
        ("1Gi", Fraction(2**30)),
        ("1G", Fraction(10**9)),
        ("1e3", Fraction(1000)),
        ("100k", Fraction(100_000)),
        ("250u", Fraction(250, 10**6)),
    ],
)
def test_parse(text: str | int | float, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "lots", "1Xi", "1.2.3", "Mi"])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(bad)


def test_rounding_and_formatting() -> None:
    assert ceil_div(Fraction(1, 2), Fraction(1)) == 1
    assert ceil_div(Fraction(1, 2), Fraction(1, 1000)) == 500
    assert ceil_div(Fraction(128 * 2**20), Fraction(2**20)) == 128
    assert ceil_div(Fraction(1), Fraction(3)) == 1
    assert ceil_div(Fraction(7), Fraction(2)) == 4
    assert (format_cpu(1.0), format_cpu(0.5), format_cpu(2.25)) == ("1", "500m", "2250m")
    assert (format_memory(2**30), format_memory(3 * 2**20), format_memory(1000)) == (
        "1Gi", "3Mi", "1000")  # fmt: skip
