"""The Engine facade's reports methods (mixed into engine.Engine)."""
from __future__ import annotations


class ReportsFacade:
    """Methods the Engine exposes for reports."""

    def _init_reports(self) -> None:
        """Build per-definition reports state; called on start and on reload."""
