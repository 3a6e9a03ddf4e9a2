"""The one exception callers of the optimizer need to catch."""

from __future__ import annotations


class AllocationError(ValueError):
    """Bad or infeasible allocation input; the message names the constraint and channel.

    Raised before anything is returned: callers never see a partial allocation.
    """
