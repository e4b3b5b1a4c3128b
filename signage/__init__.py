"""signage: digital signage for an IT office.

The package is split by concern: ``model`` (frozen values, no I/O), ``playlist`` (YAML to
model, the validator and the JSON Schema), ``schedule`` (what plays now), ``feed`` (signed
publishing and sync), ``hub`` (the server), ``alerts`` (crisis alerts and CAP 1.2), ``qr``,
``player`` (the only place that imports Qt) and ``cli`` with ``commands`` (argument parsing).
"""

__version__ = "0.1.0"
