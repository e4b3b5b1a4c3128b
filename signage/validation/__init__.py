"""The validation kit: hostile YAML (or a parsed JSON body) to typed values or located messages.

Used by every room that reads what people or other machines write: playlists and themes
(``signage.playlist``), alert templates and Alertmanager mappings (``signage.alerts``),
and the hub's request bodies. Two parts:

- ``located``: ``load_yaml_located`` reads one YAML document into ``YMap`` / ``YSeq`` /
  ``YScalar`` nodes that remember their line and column, refusing bombs, binary and
  oversized files with a message instead of raising; ``kind_of`` says how a node reads
  to a person ("a list", "text ('x')").
- ``bodies``: ``check_json(spec, data, what)`` runs the same specs over a parsed JSON
  request body and raises ``ValidationError``; each message names its field
  (``'screen': ...``).
- ``specs``: ``Spec[T]`` turns a node into a ``T`` or reports why not, and describes
  itself as JSON Schema. Generic specs: ``Text``, ``Boolean``, ``Integer``, ``Number``,
  ``Timestamp``, ``Choice``, ``ListOf``, ``MapOf``, ``Nullable``, ``OrFalse``, ``Record`` of
  ``Field``s (whose ``build`` gets ``Values``).
  Every problem lands in the ``Context``; refuse the input whenever it holds an error.

Fields that mean something to one domain (durations, assets, screen URLs, schedules)
stay with their domain as ``Spec`` subclasses.
"""

from __future__ import annotations

from signage.validation.bodies import JsonContext, check_json, from_json
from signage.validation.located import (
    MAX_BYTES,
    MAX_DEPTH,
    YMap,
    YNode,
    YScalar,
    YSeq,
    kind_of,
    load_yaml_located,
)
from signage.validation.specs import (
    INVALID,
    JSON,
    Boolean,
    Choice,
    Context,
    Field,
    Integer,
    Invalid,
    ListOf,
    MapOf,
    Nullable,
    Number,
    OrFalse,
    Record,
    Spec,
    Text,
    Timestamp,
    Values,
    did_you_mean,
    expect_scalar,
)

__all__ = [
    "INVALID",
    "JSON",
    "MAX_BYTES",
    "MAX_DEPTH",
    "Boolean",
    "Choice",
    "Context",
    "Field",
    "Integer",
    "Invalid",
    "JsonContext",
    "ListOf",
    "MapOf",
    "Nullable",
    "Number",
    "OrFalse",
    "Record",
    "Spec",
    "Text",
    "Timestamp",
    "Values",
    "YMap",
    "YNode",
    "YScalar",
    "YSeq",
    "check_json",
    "did_you_mean",
    "expect_scalar",
    "from_json",
    "kind_of",
    "load_yaml_located",
]
