"""Unattended operation: systemd's notify protocol, the Qt watchdog bridge, kiosk install.

``signage.kiosk.notify`` speaks sd_notify over a datagram socket without a C library;
``signage.kiosk.systemd`` (Qt, imported lazily) pings the watchdog from the GUI thread;
``signage.kiosk.install`` plans and performs ``signage install-kiosk``.
"""
