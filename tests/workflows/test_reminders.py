"""The catch-up rule (ADR 0207), over every pair of reminder rules in the shipped definitions.

Whatever the rules are called: of the reminders about one item (same subject kind, same
anchor date) falling due in one catch-up, exactly one is sent, the most current; a rule
about another item never suppresses one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations, permutations

import pytest

from workflows import Catalog
from workflows.reminders import Occurrence, same_item, superseded

ANCHOR = date(2026, 6, 10)
RULES = [
    pytest.param(definition, a, b, id=f"{definition.name}:{a.name}+{b.name}")
    for definition in Catalog.load()
    for a, b in permutations(definition.reminders, 2)
]


def _first(rule) -> Occurrence:
    """The rule's first occurrence about an item whose anchor is ANCHOR (08:00 UTC)."""
    return Occurrence(rule, datetime.combine(ANCHOR + rule.offset, time(8), UTC))


@pytest.mark.parametrize(("definition", "a", "b"), RULES)
def test_of_two_rules_falling_due_in_one_catch_up_one_message_per_item(definition, a, b):
    first, second = _first(a), _first(b)
    now = max(first.due, second.due) + timedelta(hours=1)  # down until both were due
    verdicts = {
        a.name: superseded(first, [second], ANCHOR, now.date()),
        b.name: superseded(second, [first], ANCHOR, now.date()),
    }
    if same_item(a, b):
        sent = [name for name, why in verdicts.items() if why is None]
        current = max((first, second), key=lambda o: (o.due, o.rule.offset))
        assert sent == [current.rule.name]
        [(name, why)] = [(n, w) for n, w in verdicts.items() if w is not None]
        assert why.startswith(f"superseded by {current.rule.name} due ")
    else:  # about different things: neither holds the other back
        assert verdicts == {
            a.name: superseded(first, [], ANCHOR, now.date()),
            b.name: superseded(second, [], ANCHOR, now.date()),
        }


@pytest.mark.parametrize("definition", list(Catalog.load()), ids=lambda d: d.name)
def test_all_the_rules_about_one_item_due_together_send_one(definition):
    by_item: dict[tuple[str, str], list] = {}
    for rule in definition.reminders:
        by_item.setdefault((rule.subject, rule.anchor), []).append(_first(rule))
    for occurrences in by_item.values():
        now = max(o.due for o in occurrences) + timedelta(minutes=5)
        sent = [
            o.rule.name
            for o in occurrences
            if superseded(o, [x for x in occurrences if x is not o], ANCHOR, now.date()) is None
        ]
        assert sent == [max(occurrences, key=lambda o: o.due).rule.name]


def test_the_shipped_definitions_have_rules_that_meet_in_a_catch_up():
    # The pair test above is not vacuous: some pairs are about one item.
    pairs = [
        (a.name, b.name)
        for definition in Catalog.load()
        for a, b in combinations(definition.reminders, 2)
        if same_item(a, b)
    ]
    assert ("checklist_due", "checklist_overdue") in pairs
    assert ("milestone_due_tomorrow", "milestone_overdue") in pairs


def test_a_before_the_date_one_off_reached_after_the_date_alone_is_stale():
    rule = next(
        r
        for r in Catalog.load().latest("staff_augmentation").reminders
        if r.name == "milestone_due_soon"
    )
    occurrence = _first(rule)
    assert superseded(occurrence, [], ANCHOR, ANCHOR - timedelta(days=3)) is None
    why = superseded(occurrence, [], ANCHOR, ANCHOR + timedelta(days=1))
    assert why == "reached after 2026-06-10, the date it was to come before"
