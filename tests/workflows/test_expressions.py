"""Date-offset expressions (workflows/expressions.py): `anchor +/- Nd|Nw`, resolved or refused."""

from __future__ import annotations

from datetime import date

import pytest

from tests.workflows.workflow_facts import DATES
from workflows import (
    InvalidExpression,
    resolve_offset,
)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("trial_end", date(2025, 5, 30)),
        ("trial_end - 7d", date(2025, 5, 23)),
        ("trial_start + 30d", date(2025, 3, 31)),
        ("period_end-2w", date(2025, 5, 16)),
    ],
)
def test_resolve_offset(expr, expected):
    assert resolve_offset(expr, DATES) == expected


def test_resolve_offset_is_none_while_the_anchor_is_unset():
    assert resolve_offset("period_end - 7d", {**DATES, "period_end": None}) is None


@pytest.mark.parametrize(
    "expr", ["trial_end - 7", "trial_end * 2d", "tomorrow", "trial_end - 3h", ""]
)
def test_bad_offset_expressions_raise(expr):
    with pytest.raises(InvalidExpression):
        resolve_offset(expr, DATES)
