"""Playlists: YAML files to checked, frozen model objects, with every problem located.

Public surface::

    load_content_root(root, *, allowed_hosts=frozenset(), check_assets=True) -> LoadResult
    load_playlist_file(path, root, *, allowed_hosts=..., check_assets=...)
        -> (Playlist | None, [Problem])
    load_theme_file(path, root, *, check_assets=True) -> (Theme | None, [Problem])
    load_settings(root) -> (Settings, [Problem])   (playlists/settings.yaml)
    effective_hosts(root_hosts, narrower) -> frozenset  (narrows, never widens)
    parse_duration("1m30s") -> 90.0          (ValueError with a message)
    check_url(url, allowed_hosts) -> None | message
    json_schema() -> dict                    (the same tables the checks use)
    theme_json_schema() -> dict              (playlists/theme.yaml)

Defining another YAML format "like playlists" (alert templates do this)
-----------------------------------------------------------------------

The generic kit is ``signage.validation`` (re-exported here with the playlist fields).

1. Read the file with ``load_yaml_located(path_or_text, display_path)``. It returns a tree
   of ``YMap`` / ``YSeq`` / ``YScalar`` nodes, each with ``line`` and ``col``, or ``None``
   with problems; it refuses oversized, binary, non-UTF-8, aliased and too-deep input.
   ``kind_of(node)`` names what a node is for messages ("a list", "a number (12)").
2. Describe the format as a ``Record``: a table of ``Field(spec, required=..., description=...)``
   plus a ``build(values, ctx)`` function returning your model object (or
   ``ctx.error(node, message)``, which records a located problem and returns ``INVALID``).
   Specs: ``Text``, ``Boolean``, ``Duration``, ``Choice(EnumType)``, ``HttpsUrl``,
   ``Asset(IMAGE_TYPES | VIDEO_TYPES, noun)``, ``DateValue``, ``Days``, ``Hours``,
   ``ListOf(spec)``, ``Nullable(spec)``, ``OrFalse(spec)`` and nested ``Record``s; subclass
   ``Spec[T]`` (``convert`` and ``schema``) for anything else. ``Values.get(key, default)``,
   ``.has``, ``.written`` and ``.at(key)`` (the node, for locating a message) help ``build``.
3. ``record.convert(node, ContentContext(path=shown, root=root, allowed_hosts=...))`` (a
   plain ``Context(path=shown)`` when no spec reads files or URLs of a root) gives the
   object or ``INVALID``; ``ctx.problems`` holds every problem. ``build`` runs with the
   valid values even when other keys failed (so problems involving several keys are still
   found), so **refuse the file whenever ``ctx.problems`` holds an error**, whatever
   ``convert`` returned. ``record.schema()`` is its JSON Schema. Unknown keys get "did you
   mean", missing required keys are reported.
"""

from __future__ import annotations

from signage.playlist._fields import (
    IMAGE_TYPES,
    VIDEO_TYPES,
    Asset,
    ContentContext,
    DateValue,
    Days,
    Duration,
    Hours,
    HttpsUrl,
    check_url,
    display_path,
    parse_duration,
    parse_hours,
)
from signage.playlist._format import (
    PLAYLIST,
    SCHEDULE,
    THEME,
    json_schema,
    slugify,
    theme_json_schema,
)
from signage.playlist._load import (
    LoadResult,
    load_content_root,
    load_playlist_file,
    load_theme_file,
    playlist_files,
)
from signage.playlist._media import sniff_media, video_duration
from signage.playlist._settings import (
    SETTINGS,
    effective_hosts,
    load_settings,
    settings_json_schema,
)
from signage.validation import (
    INVALID,
    MAX_BYTES,
    MAX_DEPTH,
    Boolean,
    Choice,
    Context,
    Field,
    Invalid,
    ListOf,
    Nullable,
    OrFalse,
    Record,
    Spec,
    Text,
    Values,
    YMap,
    YNode,
    YScalar,
    YSeq,
    kind_of,
    load_yaml_located,
)

__all__ = [
    "IMAGE_TYPES",
    "INVALID",
    "MAX_BYTES",
    "MAX_DEPTH",
    "PLAYLIST",
    "SCHEDULE",
    "SETTINGS",
    "THEME",
    "VIDEO_TYPES",
    "Asset",
    "Boolean",
    "Choice",
    "ContentContext",
    "Context",
    "DateValue",
    "Days",
    "Duration",
    "Field",
    "Hours",
    "HttpsUrl",
    "Invalid",
    "ListOf",
    "LoadResult",
    "Nullable",
    "OrFalse",
    "Record",
    "Spec",
    "Text",
    "Values",
    "YMap",
    "YNode",
    "YScalar",
    "YSeq",
    "check_url",
    "display_path",
    "effective_hosts",
    "json_schema",
    "kind_of",
    "load_content_root",
    "load_playlist_file",
    "load_settings",
    "load_theme_file",
    "load_yaml_located",
    "parse_duration",
    "parse_hours",
    "playlist_files",
    "settings_json_schema",
    "slugify",
    "sniff_media",
    "theme_json_schema",
    "video_duration",
]
