"""Display check: what checking the display before Qt adds to a start on a real X server.

``signage.player.display.open_display`` connects to the X server (socket, then Xlib) and
``guard_platform_start`` installs a Qt message handler before Qt starts. Measured on an
Xvfb started here, in fresh processes: A) import QtWidgets and create a QApplication on xcb
(what every start does), B) the same after both. Interleaved RUNS times so load from other
jobs hits both alike; medians compared. The figures are B/A, the milliseconds B adds, and
the check's own time inside B (import, socket, X set-up handshake).
``--no-guard`` leaves the Qt message handler out of B (to see what it costs). Target: B/A <= 1.10.
(A first version also loaded Qt's xcb plugin ahead of Qt to find a missing library: B/A
was 1.59, +75 ms; listening to Qt's own fatal message replaced it.) Xvfb runs with
``-noreset``, as a desktop's server effectively does (it has other clients): an X server
whose only client disconnects resets itself, and B's probe connection would then make Qt
wait for that reset (B/A 1.16-1.37 measured without it).
"""

from __future__ import annotations

import os
import select
import signal
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET = 1.10

# What `signage play` has imported before either step (the CLI, errors, config): not timed.
PRELUDE = "import logging, pathlib, re, signage.errors, signage.config\n"
BARE = (
    PRELUDE
    + """
import time; t = time.perf_counter()
from PySide6.QtWidgets import QApplication
app = QApplication(["x"])
print((time.perf_counter() - t) * 1000)
"""
)
CHECKED = (
    PRELUDE
    + """
import time; t = time.perf_counter()
from signage.player.display import guard_platform_start, open_display
assert open_display(headless=False) == "xcb"
checked = time.perf_counter()
from PySide6.QtWidgets import QApplication
guard_platform_start()
app = QApplication(["x"])
print((checked - t) * 1000)
print((time.perf_counter() - t) * 1000)
"""
)


def once(code: str, display: str) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=display, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    return [float(line) for line in out.stdout.split()]


def main() -> int:
    global CHECKED  # noqa: PLW0603 - a one-shot script's switch
    if "--no-guard" in sys.argv:
        CHECKED = CHECKED.replace("guard_platform_start()\n", "")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x720x24", "-nolisten", "tcp",
         "-noreset"],
        pass_fds=(write_fd,), stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        display = ":" + os.read(read_fd, 32).decode().strip() if ready else ""
        if display == ":":
            print("Xvfb did not start", file=sys.stderr)
            return 1
        once(BARE, display)  # warm the page cache for both
        bare, checked, check_only = [], [], []
        for _ in range(RUNS):
            bare.append(once(BARE, display)[-1])
            step, total = once(CHECKED, display)
            checked.append(total)
            check_only.append(step)
    finally:
        os.close(read_fd)
        os.killpg(xvfb.pid, signal.SIGTERM)
        xvfb.wait(10)
    a, b = statistics.median(bare), statistics.median(checked)
    c = statistics.median(check_only)
    print(f"A bare QApplication on xcb:   median {a:6.1f} ms  {[round(v) for v in sorted(bare)]}")
    print(
        f"B check + QApplication:       median {b:6.1f} ms  {[round(v) for v in sorted(checked)]}"
    )
    print(f"  of which the check itself:  median {c:6.1f} ms")
    ratio = b / a
    print(f"B/A = {ratio:.2f} (+{b - a:.1f} ms); the check alone is {c / a:.1%} of A; "
          f"target B/A <= {TARGET:.2f}: {'PASS' if ratio <= TARGET else 'FAIL'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
