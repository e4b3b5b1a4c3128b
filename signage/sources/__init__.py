"""Where a player's content comes from: a local content root or a signed feed.

Both deliver the same thing, a verified ``Content``, through the same interface, so the
player does not know or care which one it has. Callbacks arrive on a background thread;
the player marshals them to its GUI thread.

Modules: this package holds the ``ContentSource`` protocol; ``local`` (``LocalSource``, a
content root on disk, watched; ``StaticSource``, content built in-process) and ``feed``
(``FeedSource``, a signed feed through the cache, woken by the hub's push channel). The
publish-to-store steps both share live in ``signage.feed`` (``feed.local``, ``feed.sync``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from signage.events import EventLog
from signage.model import Content

ContentCallback = Callable[[Content], None]


class ContentSource(Protocol):
    """A running supplier of ``Content`` versions.

    ``start`` delivers the current content as soon as it has one (from the cache at once,
    before any network), then every newer accepted version. Refusals are logged and
    recorded as events (``feed_rejected``, ``playlist_rejected``); nothing refused is
    delivered. ``stop`` ends every thread it started and returns within a second.
    """

    def start(self, on_content: ContentCallback, events: EventLog) -> None: ...

    def stop(self) -> None: ...

    def describe(self) -> str:
        """Where content is expected from, for the idle screen and ``started``."""
        ...
