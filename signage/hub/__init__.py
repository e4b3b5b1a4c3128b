"""The hub (``signage serve``): serves the signed feed, pushes new versions, hosts area APIs.

Modules: ``state`` (``HubConfig``, ``Hub``: serving only), ``publishing`` (the two
strategies, root and feed folder, and ``FeedSnapshot``), ``database`` (``HubDatabase``),
``app`` (``create_app``),
``feed_routes`` (manifest, assets, push, health), ``push`` (``Broadcaster``), ``auth``
(bearer token), ``watch`` (debounced folder watcher). Area modules ``alert_routes``,
``telemetry_routes`` and ``scan_routes`` each expose ``routes(hub)``. Importing this package
has no side effects.
"""
