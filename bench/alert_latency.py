"""Benchmark: from ``signage alert raise`` returning to ``alert_shown`` on a headless player.

Three set-ups, each with a real headless player subprocess (``signage play --headless``)
and the real command line, N raises and N clears (default 20) of the same template:

* hub + push: ``signage serve --root`` and a player following its feed with a 30 s poll, so
  only the push channel can make it fast. Raise/clear with ``--hub``. Targets: p99 raise ->
  ``alert_shown`` <= 1 s, and p99 clear -> ``alert_cleared`` (the playlist visible again) <= 1 s.
* static feed on nginx: ``signage alert raise --root`` then ``signage publish`` into a folder
  Debian's nginx serves; the player polls every ``--poll`` s (default 2). Measured from the
  publish returning (the moment the new feed is on the web server). Target: p99 <= poll + 0.5 s.
* local root: a player on ``--root``, ``signage alert raise --root``. Target: p99 <= 1 s.

Latency = the event's ``ts`` (player's wall clock) minus the wall time at which the command
returned (same machine, same clock). With the hub it can be negative: the hub stores,
republishes and pushes before it answers, so the screen often paints the alert while the
command is still exiting; the bench therefore also reports the time from the command's
start. Baseline measured in the same run: the median time of a bare
``python -m signage --version`` (what any command pays to start on this machine now),
printed beside each figure as a ratio.

    .venv/bin/python bench/alert_latency.py [--runs 20] [--poll 2] [--only hub|nginx|local]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers_alerts import event_time, run_player, signage_cli, wait_event
from tests.helpers_feed import nginx_available, run_nginx
from tests.helpers_hub import make_content_root, run_hub

TARGET_PUSH_S = 1.0
TARGET_LOCAL_S = 1.0
NGINX_SLACK_S = 0.5
RAISE = ["--template", "servicio-restablecido", "--set", "sistema=SIGEP"]


def p99(values: list[float]) -> float:
    """Nearest-rank 99th percentile (the largest of 20 values)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def baseline_s(rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        done = signage_cli("--version")
        assert done.returncode == 0, done.stderr
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def shown(alert_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == "alert_shown" and e["alert"] == alert_id


def cleared(alert_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == "alert_cleared" and e["alert"] == alert_id


def checked(done: Any) -> str:
    if done.returncode != 0:
        raise SystemExit(f"command failed: {done.stderr}")
    return str(done.stdout.strip())


def bench_hub(work: Path, runs: int) -> tuple[list[float], list[float], list[float]]:
    root = make_content_root(work / "root")
    with run_hub(data=work / "hub", root=root) as hub:
        config = work / "player.yaml"
        config.write_text(
            f"screen: bench\nfeed: {hub.url}/feed.json\npubkey: {hub.pubkey}\n"
            f"cache: {work / 'cache'}\npoll: 30\n",
            encoding="utf-8",
        )
        events = work / "events.jsonl"
        auth = ["--hub", hub.url, "--token-file", str(hub.token_file)]
        with run_player(["--config", str(config)], events=events, for_s=900) as proc:
            wait_event(events, lambda e: e["event"] == "slide_shown", 60, proc)
            up, down, invoked = [], [], []
            for _ in range(runs):
                started = time.time()
                alert_id = checked(signage_cli("alert", "raise", *auth, *RAISE))
                returned = time.time()
                at = event_time(wait_event(events, shown(alert_id), 30, proc))
                up.append(at - returned)
                invoked.append(at - started)
                checked(signage_cli("alert", "clear", *auth, alert_id))
                returned = time.time()
                down.append(event_time(wait_event(events, cleared(alert_id), 30, proc)) - returned)
    return up, down, invoked


def bench_nginx(work: Path, runs: int, poll: float) -> list[float]:
    root = make_content_root(work / "root")
    feed = work / "feed"
    key = work / "key.pem"
    pubkey = checked(signage_cli("keygen", "--out", str(key)))  # prints the public key
    checked(signage_cli("publish", "--root", str(root), "--out", str(feed), "--key", str(key)))
    with run_nginx(feed, work / "nginx") as nginx:
        config = work / "player.yaml"
        config.write_text(
            f"screen: bench\nfeed: {nginx.url}feed.json\npubkey: {pubkey}\n"
            f"cache: {work / 'cache'}\npoll: {poll}\n",
            encoding="utf-8",
        )
        events = work / "events.jsonl"
        publish = ["publish", "--root", str(root), "--out", str(feed), "--key", str(key)]
        with run_player(["--config", str(config)], events=events, for_s=900) as proc:
            wait_event(events, lambda e: e["event"] == "slide_shown", 60, proc)
            up = []
            for _ in range(runs):
                alert_id = checked(signage_cli("alert", "raise", "--root", str(root), *RAISE))
                checked(signage_cli(*publish))
                returned = time.time()
                up.append(event_time(wait_event(events, shown(alert_id), 30, proc)) - returned)
                checked(signage_cli("alert", "clear", "--root", str(root), alert_id))
                checked(signage_cli(*publish))
                wait_event(events, cleared(alert_id), 30, proc)
    return up


def bench_local(work: Path, runs: int) -> tuple[list[float], list[float]]:
    root = make_content_root(work / "root")
    events = work / "events.jsonl"
    with run_player(["--root", str(root)], events=events, for_s=900) as proc:
        wait_event(events, lambda e: e["event"] == "slide_shown", 60, proc)
        up, down = [], []
        for _ in range(runs):
            alert_id = checked(signage_cli("alert", "raise", "--root", str(root), *RAISE))
            returned = time.time()
            up.append(event_time(wait_event(events, shown(alert_id), 30, proc)) - returned)
            checked(signage_cli("alert", "clear", "--root", str(root), alert_id))
            returned = time.time()
            down.append(event_time(wait_event(events, cleared(alert_id), 30, proc)) - returned)
    return up, down


def report(name: str, values: list[float], target: float, base: float) -> bool:
    worst = p99(values)
    ok = worst <= target
    print(
        f"{name:<34} p50 {statistics.median(values) * 1000:7.0f} ms  "
        f"p99 {worst * 1000:7.0f} ms  ({worst / base:4.2f}x baseline)  "
        f"target <= {target * 1000:.0f} ms  {'PASS' if ok else 'FAIL'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--poll", type=float, default=2.0, help="nginx player poll interval (s)")
    parser.add_argument("--only", choices=["hub", "nginx", "local"])
    args = parser.parse_args()
    base = baseline_s()
    print(f"baseline: 'python -m signage --version' median {base * 1000:.0f} ms (same run)")
    print(f"{args.runs} raises and clears per set-up")
    results = []
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp:
        work = Path(tmp)
        if args.only in (None, "hub"):
            up, down, invoked = bench_hub(work / "hub", args.runs)
            results.append(report("hub+push: raise -> alert_shown", up, TARGET_PUSH_S, base))
            results.append(report("hub+push: raise started -> shown", invoked, TARGET_PUSH_S, base))
            results.append(report("hub+push: clear -> alert_cleared", down, TARGET_PUSH_S, base))
        if args.only in (None, "nginx"):
            if nginx_available():
                up = bench_nginx(work / "nginx", args.runs, args.poll)
                target = args.poll + NGINX_SLACK_S
                results.append(report(f"nginx (poll {args.poll:g} s): publish -> shown", up,
                                      target, base))  # fmt: skip
            else:
                print("nginx: not installed, skipped")
        if args.only in (None, "local"):
            up, down = bench_local(work / "local", args.runs)
            results.append(report("local root: raise -> alert_shown", up, TARGET_LOCAL_S, base))
            results.append(report("local root: clear -> alert_cleared", down, TARGET_LOCAL_S, base))
    print("overall:", "PASS" if all(results) else "FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
