"""Alert actions shared by ``signage alert`` and the hub: apply a CAP message to a store.

Thin shell over the pure parts: ``cap.parse_cap`` decides what a message means, this module
writes the outcome to an ``AlertStore``.
"""

from __future__ import annotations

from dataclasses import dataclass

from signage.alerts.cap import CapMessage
from signage.alerts.store import AlertStore
from signage.errors import AlertError


@dataclass(frozen=True, slots=True)
class CapOutcome:
    """What a CAP message did: ``raised``, ``updated``, ``cancelled`` or ``ignored``.

    Args:
        raised: the id of the alert now on screens (Alert/Update), else None.
        cleared: ids of the alerts the message removed (Update/Cancel).
        detail: one human sentence for the command line and the hub's JSON answer.
    """

    action: str
    raised: str | None
    cleared: tuple[str, ...]
    detail: str


def apply_cap(message: CapMessage, store: AlertStore) -> CapOutcome:
    """Stores what the message means; AlertError for a Cancel of alerts we never had."""
    if message.ignored:
        return CapOutcome("ignored", None, (), f"ignored: {message.ignored}")
    known = [r.alert_id for r in message.references if store.get(r.alert_id) is not None]
    if message.msg_type == "Cancel":
        if not known:
            names = ", ".join(f"{r.sender},{r.identifier}" for r in message.references)
            raise AlertError(
                f"CAP Cancel refused: it cancels {names}, which was never raised here "
                "(or was already cleared); nothing changed"
            )
        cleared = tuple(i for i in known if store.clear(i))
        return CapOutcome("cancelled", None, cleared, f"cancelled {', '.join(cleared)}")
    if message.alert is None:  # parse_cap gives Alert/Update an alert; keep mypy and readers sure
        raise AlertError("CAP message has nothing to show")
    store.raise_alert(message.alert)
    cleared = tuple(i for i in known if i != message.alert.id and store.clear(i))
    if message.msg_type == "Update":
        detail = f"updated: {message.alert.id} replaces {', '.join(cleared) or 'nothing known'}"
        return CapOutcome("updated", message.alert.id, cleared, detail)
    return CapOutcome("raised", message.alert.id, cleared, f"raised {message.alert.id}")
