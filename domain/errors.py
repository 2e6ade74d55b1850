"""The error family: everything GridWatch refuses for a reason the user can act on is a :class:`GridWatchError`.

Callers catch these by type (a bad photo, an unknown camera, a refused case action); anything else (a ``ValueError``
from a bug, a database outage) is not bad input and propagates as it is. Messages are meant for the user.
"""

from __future__ import annotations


class GridWatchError(Exception):
    """Base of every error GridWatch raises on purpose: the input, request or setup cannot be used as given."""


class ImageError(GridWatchError):
    """An image that cannot be used; the message says why in words meant for the user."""


class ModelError(GridWatchError):
    """A model file, or detector settings (thresholds, input size), that cannot serve as a detector."""


class SiteConfigError(GridWatchError):
    """A site file that cannot be read, parsed or validated; the message names the file and the field."""


class CaseError(GridWatchError):
    """A request the case manager cannot carry out (unknown case, camera or place, missing argument)."""


class ScanError(GridWatchError):
    """A scan that cannot start: unknown camera or place, or contradictory locations."""


class ClusterError(GridWatchError):
    """A cluster that cannot be used as asked (Ray missing, a store the workers cannot share): a setup error."""


class UserError(GridWatchError):
    """A user request that cannot be carried out (unknown grid, scope rules, bad password)."""


class UserExists(UserError):  # noqa: N818 - reads as the condition it reports
    """A user of that name is already there."""


class PasswordError(GridWatchError):
    """A password that does not meet the rules."""


class UnknownItemError(GridWatchError):
    """No item with that id in that site collection."""


class UploadError(GridWatchError):
    """A request that cannot become a photo batch; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class UsageError(GridWatchError):
    """A command that cannot run as asked: a missing extra, a malformed option, unusable training input."""
