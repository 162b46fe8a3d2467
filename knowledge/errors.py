"""Exceptions of the knowledge package, each carrying its fields."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base class for knowledge-base errors."""


class RecordNotFound(KnowledgeError):
    """A bibliographic record id that is not in the catalog."""

    def __init__(self, record_id: int) -> None:
        super().__init__(f"record {record_id} not found")
        self.record_id = record_id
