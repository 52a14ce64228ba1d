"""The Engine facade's alerts methods (mixed into engine.Engine)."""
from __future__ import annotations


class AlertsFacade:
    """Methods the Engine exposes for alerts."""

    def _init_alerts(self) -> None:
        """Build per-definition alerts state; called on start and on reload."""
