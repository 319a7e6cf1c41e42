"""The errors a connector raises, sorted by what the caller should do about them.

===========================  ===========================================================
error                        what the caller (the pull task) does
===========================  ===========================================================
``ConnectorConfigError``     store the message on the Source; do not retry until edited
``ConnectorAuthError``       store the message on the Source (bad/expired credentials)
``ConnectorRateLimited``     retry after ``resume_at`` (the API said when, or a backoff)
``ConnectorTransientError``  retry later with backoff (5xx, timeouts, connection errors)
``ConnectorPermanentError``  store the message; retrying the same request cannot succeed
``MalformedPageError``       quarantine ``body``; keep the cursor where it was
===========================  ===========================================================

None of them ever advances a cursor: a cursor moves only with a ``Page`` the caller stored.
"""

from __future__ import annotations

from datetime import datetime


class ConnectorError(Exception):
    """Base of every error a connector raises; ``str(error)`` is a message fit for an analyst."""


class ConnectorConfigError(ConnectorError):
    """The source's config, credentials or stored cursor are unusable as they stand."""


class ConnectorAuthError(ConnectorError):
    """The API refused the credentials (HTTP 401/403). ``detail`` is the server's own wording."""

    def __init__(self, message: str, *, status: int, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class ConnectorRateLimited(ConnectorError):
    """The API keeps answering 429 (or asked for a longer wait than we sleep inline).

    ``resume_at`` (aware UTC) is when the API said it will accept requests again, or ``None`` when
    it did not say; the caller then backs off on its own schedule.
    """

    def __init__(self, message: str, *, resume_at: datetime | None) -> None:
        super().__init__(message)
        self.resume_at = resume_at


class ConnectorTransientError(ConnectorError):
    """5xx, timeouts or connection failures that outlasted the retries: try again later."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConnectorPermanentError(ConnectorError):
    """A 4xx other than 401/403/429 (bad query, unknown business unit...): never retried.
    ``detail`` is the server's own wording, where it sent one."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class MalformedPageError(ConnectorError):
    """The response is not the documented JSON (invalid JSON, wrong envelope types, missing keys).

    ``body`` is the response text, truncated to ``MAX_QUARANTINED_BODY`` characters, for the
    quarantine table. The cursor must not advance past such a page.
    """

    MAX_QUARANTINED_BODY = 64 * 1024

    def __init__(self, message: str, *, body: str = "", url: str = "") -> None:
        super().__init__(message)
        self.body = body[: self.MAX_QUARANTINED_BODY]
        self.url = url
