"""The console's edits of a YAML node: set a key only when its value changes, so a save that
changes nothing leaves the file byte for byte (shared by the playlist and data-slide forms)."""

from __future__ import annotations

from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap


def text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def same(current: Any, wanted: Any) -> bool:
    if isinstance(current, date) and isinstance(wanted, date):
        return current == wanted
    if isinstance(current, list) and isinstance(wanted, list):
        return [str(c) for c in current] == [str(w) for w in wanted]
    return text(current) == text(wanted) and type(current) is not bool


def set_key(node: CommentedMap, key: str, value: Any, position: int | None = None) -> None:
    """Sets ``node[key]`` unless it already holds that value; empty values remove the key."""
    if value is None or value in ("", []):
        node.pop(key, None)
        return
    if key in node and same(node[key], value):
        return
    if key not in node and position is not None:
        node.insert(min(position, len(node)), key, value)
    else:
        node[key] = value
