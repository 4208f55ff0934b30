import pytest

from podctl.units import human_duration, human_size


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
     (125, "2 minutes"), (3600, "About an hour"), (7200, "2 hours"), (86400 * 3, "3 days"),
     (86400 * 20, "2 weeks"), (86400 * 90, "3 months"), (86400 * 800, "2 years")],
)  # fmt: skip
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (999, "999 B"), (2_140_000, "2.14 MB"),
                                         (1_000_000_000, "1 GB")])  # fmt: skip
def test_human_size(n: int, text: str) -> None:
    assert human_size(n) == text
