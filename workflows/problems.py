"""Collects load-time problems, each prefixed with the file name and the entry it concerns."""

from __future__ import annotations


class Problems:
    """An ordered list of "file: entry: message" strings."""

    def __init__(self, file_label: str):
        self.file_label = file_label
        self.messages: list[str] = []

    def add(self, where: str, message: str) -> None:
        """Record one problem at `where` (e.g. "transitions[3] (extend)")."""
        self.messages.append(f"{self.file_label}: {where}: {message}")

    def __bool__(self) -> bool:
        return bool(self.messages)
