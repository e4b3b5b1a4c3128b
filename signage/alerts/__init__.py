"""Crisis alerts: the store, prepared templates, CAP 1.2 in and out, and which alert wins.

Modules:
    codec      Alert <-> JSON (the form alerts take in the store and in the signed feed)
    store      AlertStore: one JSON file per active alert, written atomically
    select     pure decisions: which alerts a screen shows now, in what order, and until when
    templates  prepared wording from ``playlists/alerts/*.yaml`` rendered into Alerts
    cap        OASIS CAP 1.2 import (hardened XML) and export
    actions    applies a parsed CAP message to a store (raise, update, cancel)
    raising    RaiseRequest: template + variables + overrides, shared by the CLI and the hub
    alertmanager  Prometheus Alertmanager webhooks planned into raises and clears

Nothing here imports Qt; the on-screen layer is ``signage.player.alert_layer``.
"""
