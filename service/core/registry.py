"""The site registry: the one owner of a process's site configuration.

Readers take :attr:`SiteRegistry.current` when they need the site (never a copy kept from start-up); the one writer
(the site editor, or a Ray camera worker told by its supervisor) calls :meth:`SiteRegistry.replace`, which swaps the
whole validated configuration and then tells the subscribers (the camera runner, which passes it on to its Ray
workers), in the order they subscribed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from service.core.site import SiteConfig

SiteListener = Callable[[SiteConfig], None]
"""Told every new configuration, after it became current."""


class SiteRegistry:
    """Holds the current :class:`SiteConfig`; replacing it is serialised, reading it is a plain attribute read."""

    def __init__(self, site: SiteConfig) -> None:
        self._site = site
        self._listeners: list[SiteListener] = []
        self._lock = threading.Lock()  # one replacement (and its notifications) at a time: listeners see them in order

    @property
    def current(self) -> SiteConfig:
        """The configuration now (immutable by convention: a change is a new object through :meth:`replace`)."""
        return self._site

    def subscribe(self, listener: SiteListener) -> None:
        """Tell ``listener`` every later replacement."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: SiteListener) -> None:
        """Stop telling ``listener`` (not subscribed is fine)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def replace(self, site: SiteConfig) -> None:
        """Make ``site`` current, then tell every subscriber; the caller has validated it and synced the store."""
        with self._lock:
            self._site = site
            for listener in list(self._listeners):
                listener(site)
