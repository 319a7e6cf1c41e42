"""What the learning domain raises at callers. The API maps each to one status in one place
(``api.exceptions.DOMAIN_ERRORS``): a request that cannot be honoured as sent is a 400, one that
conflicts with the registry's state (nothing to roll back, a candidate the gate blocked) a 409."""

from __future__ import annotations


class LearningError(ValueError):
    """A learning request that cannot be honoured as sent (a 400 for API callers)."""


class LearningConflict(LearningError):
    """A request the registry's current state refuses (a 409): nothing to roll back, a blocked
    candidate promoted without ``force``, an active version's files removed."""


class CycleCannotRun(LearningError):
    """A training cycle stopped for a reason its user can act on: nothing new to learn from, or a
    model version's (or the shipped check set's) files missing or damaged. Recorded on the cycle
    and reported as a message, not a crash."""
