"""Pure-Python workflow engine: definitions, guards, plans, diagrams, migrations; no Flask/SQL."""

from .actions import ACTIONS, Action
from .catalog import DEFINITIONS_DIR, Catalog
from .definition import (
    ActionCall,
    Definition,
    GuardCall,
    InputSpec,
    ReminderRule,
    State,
    TimerSpec,
    Transition,
)
from .diagram import to_dot, to_mermaid, to_svg
from .engine import Engine
from .errors import (
    InvalidDefinition,
    InvalidExpression,
    InvalidInputs,
    TransitionNotAllowed,
    UnknownDefinition,
    UnknownEvent,
    WorkflowError,
)
from .expressions import parse_duration, parse_offset, resolve_offset
from .guards import GUARDS, Guard
from .loader import load_definition, parse_definition
from .migration import MigrationResult, plan_migration
from .outcomes import Plan, PlannedAction, PlannedTimer, TransitionOption, Unmet
from .subject import (
    AccessFact,
    Actor,
    AdrFact,
    ArtifactFact,
    ChecklistFact,
    DrillFact,
    ExitFact,
    MemberFact,
    MetricFact,
    MilestoneFact,
    ShadowFact,
    Subject,
    areas_owed,
)

__all__ = [
    "AccessFact",
    "DrillFact",
    "ExitFact",
    "ACTIONS",
    "GUARDS",
    "DEFINITIONS_DIR",
    "Action",
    "ActionCall",
    "Actor",
    "AdrFact",
    "ArtifactFact",
    "Catalog",
    "ChecklistFact",
    "Definition",
    "Engine",
    "Guard",
    "GuardCall",
    "InputSpec",
    "InvalidDefinition",
    "InvalidExpression",
    "InvalidInputs",
    "MemberFact",
    "MigrationResult",
    "MetricFact",
    "MilestoneFact",
    "Plan",
    "PlannedAction",
    "PlannedTimer",
    "ReminderRule",
    "ShadowFact",
    "State",
    "Subject",
    "TimerSpec",
    "Transition",
    "areas_owed",
    "TransitionNotAllowed",
    "TransitionOption",
    "UnknownDefinition",
    "UnknownEvent",
    "Unmet",
    "WorkflowError",
    "load_definition",
    "parse_definition",
    "parse_duration",
    "parse_offset",
    "plan_migration",
    "resolve_offset",
    "to_dot",
    "to_mermaid",
    "to_svg",
]
