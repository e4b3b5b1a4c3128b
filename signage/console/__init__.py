"""The console: the comms team's web pages at ``/console/`` and the JSON API beneath them.

Served by the hub (``signage serve``); ``signage.console.web.routes(hub)`` is what the hub
mounts. Rooms: ``accounts`` (people, roles, sessions, audit), ``guard`` (who may do what),
``content`` (reading and saving playlists), ``forms`` (the editor's form <-> round-trip
YAML), ``history`` (git), ``uploads`` (files checked by content), ``previews`` (a worker
process drawing slides with the player's widgets), ``now`` (what plays now, and why not),
``messages`` (Spanish words), ``web`` (the routes).
"""
