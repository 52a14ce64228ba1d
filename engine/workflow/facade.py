"""The Engine facade's workflow methods (mixed into engine.Engine)."""
from __future__ import annotations


class WorkflowFacade:
    """Methods the Engine exposes for workflow."""

    def _init_workflow(self) -> None:
        """Build per-definition workflow state; called on start and on reload."""
