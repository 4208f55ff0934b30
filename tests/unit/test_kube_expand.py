"""$(VAR) expansion, with the cases of Kubernetes' own expansion tests."""

from __future__ import annotations

import pytest

from podctl.kube.expand import expand, mapping_func

CONTEXT = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("$(VAR_A)-1", "A-1"),
        ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
        ("$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"),
        ("$(VAR_REF)", "$(VAR_A)"),  # values are not expanded again
        ("foo$(VAR_EMPTY)bar", "foobar"),
        ("$(UNKNOWN)", "$(UNKNOWN)"),
        ("$(VAR_A)$(UNKNOWN)", "A$(UNKNOWN)"),
        ("$$(VAR_A)", "$(VAR_A)"),
        ("$$$(VAR_A)", "$A"),
        ("$$$$(VAR_A)", "$$(VAR_A)"),
        ("$$", "$"),
        ("$$$$", "$$"),
        ("$", "$"),
        ("foo$", "foo$"),
        ("$(", "$("),
        ("$(VAR_A", "$(VAR_A"),
        ("$VAR_A", "$VAR_A"),
        ("$()", "$()"),
        ("f00__(VAR_A)__", "f00__(VAR_A)__"),
        ("$?_boo_$!", "$?_boo_$!"),
        ("echo $$HOME $(VAR_B)", "echo $HOME B"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, mapping_func(CONTEXT)) == expected


def test_contexts_are_searched_in_order() -> None:
    lookup = mapping_func({"A": "first"}, {"A": "second", "B": "b"})
    assert expand("$(A)$(B)", lookup) == "firstb"
