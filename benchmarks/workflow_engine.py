"""Benchmark: our workflow engine vs `transitions` and `python-statemachine` on the same machine.

Run: .venv/bin/python benchmarks/workflow_engine.py [--rounds N]
Each round fires 9 guarded transitions around the staff-augmentation lifecycle (plus a
benchmark-only `reopen` so the loop can repeat). Our engine evaluates ALL guards and builds
an Unmet reason list and a Plan for every transition; the other two stop at the first false
condition and return nothing but the new state.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from datetime import date
from pathlib import Path

# Run as a script from anywhere: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from statemachine import State, StateMachine  # noqa: E402
from transitions import Machine  # noqa: E402

from workflows import (  # noqa: E402
    Actor,
    AdrFact,
    ArtifactFact,
    ChecklistFact,
    Engine,
    MemberFact,
    MilestoneFact,
    ShadowFact,
    Subject,
    parse_definition,
)

SEQUENCE = [
    ("start_trial", {}),
    ("begin_review", {}),
    ("extend", {"months": 6, "review": "All milestones met."}),
    ("begin_review", {}),
    ("extend", {"months": 3, "review": "Two met, one missed."}),
    ("begin_review", {}),
    ("begin_knowledge_transfer", {"review": "Wind down."}),
    ("close", {}),
    ("reopen", {}),
]
OPEN = ["discovery", "trial", "milestone_review", "extension", "knowledge_transfer", "closed"]
DEFINITION = b"""
name = "bench"
version = 1
[states.discovery]
initial = true
[states.trial]
[states.milestone_review]
[states.extension]
[states.knowledge_transfer]
[states.closed]
[states.archived]
final = true

[[transitions]]
event = "start_trial"
from = "discovery"
to = "trial"
roles = ["manager"]
guards = [
  { name = "checklist_complete", kind = "prerequisite" },
  { name = "checklist_complete", kind = "placement" },
  { name = "team_min", count = 1 },
  "milestone_with_criteria",
]
[[transitions]]
event = "begin_review"
from = ["trial", "extension"]
to = "milestone_review"
roles = ["manager", "system"]
[[transitions]]
event = "extend"
from = "milestone_review"
to = "extension"
roles = ["manager"]
guards = ["period_milestones_final"]
inputs = [
  { name = "months", type = "int", min = 3, max = 12 },
  { name = "review", type = "text", max_length = 10000 },
]
actions = [
  { name = "record_review", text = "$input.review" },
  { name = "start_extension", months = "$input.months" },
]
[[transitions]]
event = "begin_knowledge_transfer"
from = "milestone_review"
to = "knowledge_transfer"
roles = ["manager"]
guards = ["period_milestones_final"]
inputs = [{ name = "review", type = "text" }]
[[transitions]]
event = "close"
from = "knowledge_transfer"
to = "closed"
roles = ["manager"]
guards = [
  { name = "checklist_complete", kind = "knowledge_transfer" },
  "shadows_signed_off",
  "no_proposed_adrs",
  { name = "artifact_present", kind = "runbook" },
]
[[transitions]]
event = "reopen"
from = "closed"
to = "discovery"
roles = ["manager"]
[[transitions]]
event = "archive"
from = "closed"
to = "archived"
roles = ["manager"]
"""


def make_subject() -> Subject:
    """An engagement whose every guard holds, with realistic list sizes."""
    today = date(2025, 3, 1)
    kinds = ("prerequisite", "placement", "knowledge_transfer")
    return Subject(
        state="discovery",
        today=today,
        checklist=tuple(
            ChecklistFact(i, kinds[i % 3], f"item {i}", "done", "Dana", today) for i in range(12)
        ),
        milestones=tuple(
            MilestoneFact(i, f"m{i}", today, "met", "AUC >= 0.8", 0) for i in range(3)
        ),
        members=(MemberFact(1, "Ana", True, ("serving", "pipeline")), MemberFact(2, "Bo", False)),
        shadows=(ShadowFact(1, 1, "Cy", ("serving", "pipeline"), True),),
        adrs=tuple(AdrFact(i, i, f"adr {i}", "accepted") for i in range(4)),
        artifacts=(ArtifactFact(1, "runbook", "Runbook"),),
    )


class Guards:
    """The same guards as booleans over the same facts (first failure wins, no reasons)."""

    def __init__(self, subject: Subject):
        self.s = subject

    def checklist(self, kind: str) -> bool:
        return all(i.is_complete for i in self.s.checklist if i.kind == kind)

    def can_start(self, *args, **kwargs) -> bool:
        return (
            self.checklist("prerequisite")
            and self.checklist("placement")
            and len(self.s.members) >= 1
            and any(m.success_criteria.strip() for m in self.s.milestones)
        )

    def period_final(self, *args, **kwargs) -> bool:
        period = self.s.current_period
        return all(m.is_final for m in self.s.milestones if m.period == period)

    def can_close(self, *args, **kwargs) -> bool:
        covered = {(sh.member_id, a) for sh in self.s.shadows if sh.signed_off for a in sh.areas}
        return (
            self.checklist("knowledge_transfer")
            and all((m.id, a) in covered for m in self.s.members if m.is_external for a in m.areas)
            and not any(a.status == "proposed" for a in self.s.adrs)
            and any(a.kind == "runbook" for a in self.s.artifacts)
        )


def run_ours(rounds: int) -> int:
    engine, actor = Engine(parse_definition(DEFINITION)), Actor(1, "manager", "M")
    subject, fired = make_subject(), 0
    for _ in range(rounds):
        for event, inputs in SEQUENCE:
            plan = engine.plan(subject, actor, event, inputs)
            subject = dataclasses.replace(subject, state=plan.to_state)
            fired += 1
    assert subject.state == "discovery"
    return fired


def run_transitions(rounds: int) -> int:
    model = Guards(make_subject())
    machine = Machine(model=model, states=OPEN + ["archived"], initial="discovery")
    machine.add_transition("start_trial", "discovery", "trial", conditions="can_start")
    machine.add_transition("begin_review", ["trial", "extension"], "milestone_review")
    machine.add_transition("extend", "milestone_review", "extension", conditions="period_final")
    machine.add_transition(
        "begin_knowledge_transfer",
        "milestone_review",
        "knowledge_transfer",
        conditions="period_final",
    )
    machine.add_transition("close", "knowledge_transfer", "closed", conditions="can_close")
    machine.add_transition("reopen", "closed", "discovery")
    fired = 0
    for _ in range(rounds):
        for event, inputs in SEQUENCE:
            assert model.trigger(event, **inputs)
            fired += 1
    assert model.state == "discovery"
    return fired


class Lifecycle(StateMachine):
    """The same lifecycle in python-statemachine 3.x."""

    discovery = State(initial=True)
    trial = State()
    milestone_review = State()
    extension = State()
    knowledge_transfer = State()
    closed = State()
    archived = State(final=True)

    start_trial = discovery.to(trial, cond="can_start")
    begin_review = trial.to(milestone_review) | extension.to(milestone_review)
    extend = milestone_review.to(extension, cond="period_final")
    begin_knowledge_transfer = milestone_review.to(knowledge_transfer, cond="period_final")
    close = knowledge_transfer.to(closed, cond="can_close")
    reopen = closed.to(discovery)
    archive = closed.to(archived)


def run_statemachine(rounds: int) -> int:
    model = Guards(make_subject())
    machine = Lifecycle(model=model)
    fired = 0
    for _ in range(rounds):
        for event, inputs in SEQUENCE:
            machine.send(event, **inputs)
            fired += 1
    assert machine.discovery.is_active
    return fired


def measure(run, rounds: int) -> float:
    """Transitions per second (best of three runs)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fired = run(rounds)
        best = min(best, time.perf_counter() - start)
    return fired / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="lifecycle loops (9 each)")
    rounds = parser.parse_args().rounds
    results = {
        "workflows (ours)": measure(run_ours, rounds),
        "transitions": measure(run_transitions, rounds),
        "python-statemachine": measure(run_statemachine, rounds),
    }
    print(f"Python {platform.python_version()}, {rounds * len(SEQUENCE)} transitions per run")
    ours = results["workflows (ours)"]
    for name, rate in results.items():
        print(f"{name:22} {rate:12,.0f} transitions/s   ours / this = {ours / rate:5.2f}")
    print("ours evaluates ALL guards, builds Unmet reasons, validates inputs and returns a Plan")


if __name__ == "__main__":
    main()
