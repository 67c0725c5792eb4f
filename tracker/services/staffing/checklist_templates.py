"""The standard checklist items every new engagement starts with."""

from tracker.models import ChecklistKind

PREREQUISITES = [
    ("problem_statement", "Clear problem statement"),
    ("technical_contact", "Named internal technical contact"),
    ("data_access", "Data access and infrastructure ready"),
    ("engagement_window", "Engagement window with success criteria defined"),
]
PLACEMENT = [
    ("worker_classification", "Worker classification confirmed"),
    ("ip_assignment", "IP assignment agreed"),
    ("data_handling", "Data-handling terms signed"),
    ("access_register", "Access register complete"),
]
KNOWLEDGE_TRANSFER = [
    ("runbooks", "Runbooks written and reviewed"),
    ("architecture_overview", "Architecture overview written"),
    ("access_handover", "Access handed over to internal owners"),
    ("credentials_rotated", "Credentials and secrets rotated"),
    ("recordings", "Walkthrough sessions recorded"),
]

TEMPLATES = {
    ChecklistKind.PREREQUISITE: PREREQUISITES,
    ChecklistKind.PLACEMENT: PLACEMENT,
    ChecklistKind.KNOWLEDGE_TRANSFER: KNOWLEDGE_TRANSFER,
}
