"""The hub's garbage-collector room: keep full collections from stopping the event loop.

A hub with thousands of screens holds hundreds of thousands of live objects (each push
channel's transport, protocol, request cycle and stream; each open poll's). CPython's
cyclic collector, at its default thresholds (700, 10, 10), runs a full collection each
time a quarter more objects have been promoted to its oldest generation, and a full
collection walks every tracked object while the event loop waits: measured with 3,000
simulated screens, 1.3-2.5 s per full collection (580,000 objects, nothing to free), and
every manifest poll and alert waiting behind it (bench/fleet.py: the hub's p99 was those
pauses). Two settings, applied once the hub is built and before it serves:

- ``gc.freeze()``: what start-up made (imported modules, the app and its routes,
  templates) moves to a generation the collector never walks again; it lives as long as
  the process anyway;
- ``gc.set_threshold(YOUNG, 20, 10)``: the youngest generation is collected after
  ``YOUNG`` allocations instead of 700, so a request's objects (a poll's connection lives
  5 s) are freed by reference counting before they are ever promoted, and the oldest
  generation grows only with what really stays (push channels); full collections become
  rare.

Reference cycles are still collected (a cycle made by a request is found in the young
generations as before); only how often the collector runs changes.
"""

from __future__ import annotations

import gc

YOUNG = 50_000
MIDDLE = 20
OLD = 10


def settle() -> tuple[int, int, int]:
    """Freezes what start-up made and sets the hub's thresholds; returns the old ones."""
    before = gc.get_threshold()
    gc.collect()  # start-up's own garbage goes first, so none of it is frozen for ever
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    return before
