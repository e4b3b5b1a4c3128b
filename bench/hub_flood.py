"""Benchmark: how long a hub holds hostile connections, and its memory under hostile bodies.

Three measurements against real hubs (``signage serve`` subprocesses, root mode):

1. Slow headers: 50 clients each send a request line and then one header byte a second,
   never finishing the head. Measured: how long the hub keeps them (capped at
   ``--hold`` seconds). Baseline in the same run: the same hub with ``--header-timeout 0``
   (uvicorn as it comes: no header timeout).
2. Descriptors: a hub under ``ulimit -n 1024`` gets push channels until it refuses them,
   then ``/healthz`` is timed while they are all held. Baseline: ``/healthz`` on the same
   hub before the flood.
3. Bodies: 10 chunked bodies of 64 MB at once to heartbeat/events/alerts; the hub's peak
   RSS growth (``VmHWM`` - ``VmRSS`` before). Baseline: the sum of what the clients were
   ready to send (what a hub reading bodies whole would hold).
4. Forged screens: 3,000 heartbeats with invented ids, each with a ~100 KB screenshot and
   a 100 KB error text, on the shared token; then ``signage status`` timed. Measured: the
   data folder's growth. Baseline: the screenshot bytes sent (what a hub keeping one file
   per invented id stored).

Targets: slow-header connections closed within the header timeout + 2 s; ``/healthz``
answers under the push flood; body peak growth under 96 MB.

    .venv/bin/python bench/hub_flood.py [--hold 30]
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers_hub import make_content_root, run_hub
from tests.test_hub_limits import ADMIN, ROUTES, SCREEN, STREAMED, chunked_post


def slow_headers(hub_url: str, clients: int, hold: float) -> list[float]:
    port = int(hub_url.rsplit(":", 1)[1])
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(clients)]
    for s in socks:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n")
    start = time.monotonic()
    held: dict[int, float] = {}
    while len(held) < clients and time.monotonic() - start < hold:
        for i, s in enumerate(socks):
            if i in held:
                continue
            try:
                s.sendall(b"X")
            except OSError:
                held[i] = time.monotonic() - start
        time.sleep(1.0)
    for i in range(clients):
        held.setdefault(i, hold)
    for s in socks:
        s.close()
    return list(held.values())


def timed_get(url: str) -> float:
    t = time.perf_counter()
    requests.get(url, timeout=30).raise_for_status()
    return (time.perf_counter() - t) * 1000


def rss(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hold", type=float, default=30.0)
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = make_content_root(base / "root")
        held: dict[str, list[float]] = {}
        for label, timeout in (("baseline (no header timeout)", "0"), ("hub (10 s)", "10")):
            with run_hub(
                data=base / f"data-{timeout}", root=root, extra_args=["--header-timeout", timeout]
            ) as hub:
                held[label] = slow_headers(hub.url, 50, args.hold)
            print(
                f"slow headers, {label}: median held {statistics.median(held[label]):.1f} s, "
                f"max {max(held[label]):.1f} s (cap {args.hold:.0f} s)"
            )
        ratio = max(held["hub (10 s)"]) / max(held["baseline (no header timeout)"])
        passed = max(held["hub (10 s)"]) <= 12.0
        ok &= passed
        print(f"  ratio hub/baseline {ratio:.2f}; target <= 12 s: {'PASS' if passed else 'FAIL'}")

        with run_hub(data=base / "data-fds", root=root, open_files=1024) as hub:
            line = next(ln for ln in hub.stdout_lines if "open-file limit" in ln)
            print(line)
            quiet = statistics.median(timed_get(hub.url + "/healthz") for _ in range(20))
            port = int(hub.url.rsplit(":", 1)[1])
            held_socks, refused = [], 0
            for _ in range(1100):
                s = socket.create_connection(("127.0.0.1", port), timeout=20)
                s.sendall(b"GET /api/v1/push HTTP/1.1\r\nHost: hub\r\n\r\n")
                head = s.recv(4096)
                if head.startswith(b"HTTP/1.1 200"):
                    held_socks.append(s)
                else:
                    refused += 1
                    s.close()
            loaded = statistics.median(timed_get(hub.url + "/healthz") for _ in range(20))
            print(
                f"descriptors: {len(held_socks)} push channels held, {refused} refused (503); "
                f"/healthz median {loaded:.1f} ms under the flood vs {quiet:.1f} ms before "
                f"({loaded / quiet:.2f}x): PASS"
            )
            for s in held_socks:
                s.close()

        with run_hub(data=base / "data-body", root=root, token=ADMIN, screen_token=SCREEN) as hub:
            before = rss(hub.process.pid)
            port = int(hub.url.rsplit(":", 1)[1])
            threads = []
            for i in range(10):
                path, token = ROUTES[i % len(ROUTES)]
                t = threading.Thread(target=chunked_post, args=(port, path, token))
                threads.append(t)
                t.start()
            for t in threads:
                t.join()
            after = rss(hub.process.pid)
            grown = (after["VmHWM"] - before["VmRSS"]) / 1024
            offered = 10 * STREAMED / 1024 / 1024
            passed = grown < 96
            ok &= passed
            print(
                f"bodies: peak RSS +{grown:.1f} MB for 10 x {STREAMED // 2**20} MB chunked "
                f"bodies (read whole: {offered:.0f} MB; ratio {grown / offered:.3f}); "
                f"target < 96 MB: {'PASS' if passed else 'FAIL'}"
            )
        with run_hub(data=base / "data-ids", root=root, token=ADMIN, screen_token=SCREEN) as hub:
            before_bytes = dir_bytes(hub.data_dir)
            png = noise_png(200, 170)
            shot = base64.b64encode(png).decode()
            session = requests.Session()
            headers = {"Authorization": f"Bearer {SCREEN}"}
            codes: dict[int, int] = {}
            for i in range(3000):
                body = {"screen": f"falsa-{i}", "last_error": "x" * 100_000, "screenshot_png": shot}
                r = session.post(hub.url + "/api/v1/heartbeat", json=body, headers=headers)
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
            grown = (dir_bytes(hub.data_dir) - before_bytes) / 2**20
            sent = 3000 * len(png) / 2**20
            started = time.perf_counter()
            status = subprocess.run(
                # the fleet list needs a reader: without the admin token, 401 (a FAIL here)
                [sys.executable, "-m", "signage", "status", "--hub", hub.url,
                 "--token-file", str(hub.token_file)],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            status_ms = (time.perf_counter() - started) * 1000
            passed = grown < 64 and status.returncode == 0
            ok &= passed
            print(
                f"forged screens: answers {codes}; data folder +{grown:.1f} MB vs {sent:.0f} MB "
                f"of screenshots sent (ratio {grown / sent:.3f}); signage status "
                f"{status_ms:.0f} ms; target < 64 MB: {'PASS' if passed else 'FAIL'}"
            )
    return 0 if ok else 1


def dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def noise_png(width: int, height: int) -> bytes:
    from PIL import Image

    img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
