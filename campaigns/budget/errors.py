"""The budget context's one error type."""


class RebalanceError(ValueError):
    """Unknown campaign, no spend data, infeasible limits, or an apply/undo that would overwrite a later change."""
