"""What an import did: counts and the reasons records were skipped."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SyncReport:
    """Added / updated / unchanged / deleted / skipped counts of one import."""

    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    copies_refreshed: int = 0  # copies whose live status changed (SLiMS loans)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        """Record a record that was not imported, with its position and reason."""
        self.skipped.append((where, reason))

    def summary(self) -> str:
        """One line in Indonesian for librarians."""
        return (
            f"{self.source}: {self.added} ditambah, {self.updated} diperbarui, "
            f"{self.unchanged} tidak berubah, {self.deleted} dihapus, {len(self.skipped)} dilewati"
            + (f", status {self.copies_refreshed} eksemplar diperbarui" if self.copies_refreshed else "")
        )
