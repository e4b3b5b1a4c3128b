"""The telemetry room: what a screen tells its hub, on the wire and from the player's threads.

Modules: ``wire`` (the heartbeat report and the proof-of-play batch as both sides read and
write them; no network), ``heartbeat`` (the player's heartbeat thread and
``heartbeat_for(config, ...)``), ``uplink`` (proof-of-play events spooled on disk and sent
in batches, ``uplink_for(config)``). The hub URL and token come from
``PlayerConfig.hub_url`` / ``hub_token()``; the hub's side is ``signage.hub.telemetry_routes``
and ``signage.hub.scan_routes``. Importing this package has no side effects.
"""
