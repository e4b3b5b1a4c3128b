"""Benchmark: where a cold sync of many small files spends its time, phase by phase.

A feed of 450 × 10 kB (``--small``, ``--small-size``) served by Debian's nginx; every round
runs one cold ``sync_once`` of this tree, and of ``--baseline DIR`` when given, each in a
fresh process (as ``bench/sync.py --only-small --baseline`` does), the order alternating.
Inside that process the sync's steps are timed by wrapping them (the manifest and
signature requests, signature verification, the manifest's parse, ``Store.check``,
``missing_blobs``, the downloads, ``apply`` with its writes and its flush, ``collect``),
and the interpreter's garbage collections are counted and timed (``gc.callbacks``).
Prints the median of each over the rounds, and ``fixed``: the whole sync less its
downloads (what a sync costs whatever its assets), with the load average.

    .venv/bin/python bench/sync_phases.py [--rounds 9] [--baseline DIR] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync import run_in_tree  # bench/sync.py, beside this script

from signage.feed.publish import publish
from tests.helpers_feed import make_keypair, make_root, run_nginx

# Runs in the measured tree's own process (PYTHONPATH): times each step of one cold sync.
_CHILD = """
import gc, json, sys, time
from datetime import UTC, datetime
from pathlib import Path
import signage.feed.signing as signing
import signage.feed.store as store
import signage.feed.sync as sync
url, cache, pubkey = sys.argv[1:4]
spent = {}
def timed(owner, name, label):
    inner = getattr(owner, name, None)
    if inner is None:
        return
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started
    setattr(owner, name, wrapper)
timed(signing, "verify", "verify signature")
timed(store, "parse_manifest", "parse manifest")
timed(store, "write_atomic", "write manifest, sig, state")
timed(sync, "flush_filesystem", "flush (syncfs)")
for name in ("check", "missing_blobs", "apply", "collect"):
    timed(store.Store, name, f"Store.{name}")
timed(sync.SyncClient, "_fetch", "GET manifest + sig")
timed(sync.SyncClient, "_download_missing", "downloads")
runs = []
gc.callbacks.append(lambda phase, info: runs.append(time.perf_counter()))
client = sync.SyncClient(url, store.Store(Path(cache)), pubkey)
runs.clear()
started, cpu = time.perf_counter(), time.process_time()
result = client.sync_once(datetime.now(UTC))
spent["whole sync"] = time.perf_counter() - started
spent["CPU"] = time.process_time() - cpu
client.close()
assert result.status == "updated", result
spent["GC"] = sum(b - a for a, b in zip(runs[::2], runs[1::2]))
spent["GC runs"] = len(runs) // 2
print(json.dumps(spent))
"""

ORDER = (
    "whole sync",
    "downloads",
    "fixed",
    "GET manifest + sig",
    "Store.check",
    "verify signature",
    "parse manifest",
    "Store.missing_blobs",
    "Store.apply",
    "write manifest, sig, state",
    "flush (syncfs)",
    "Store.collect",
    "GC",
    "GC runs",
    "CPU",
)


def one_sync(tree: Path, url: str, cache: Path, pubkey: str) -> dict[str, float]:
    spent: dict[str, float] = json.loads(run_in_tree(tree, _CHILD, url, str(cache), pubkey))
    spent["fixed"] = spent["whole sync"] - spent["downloads"]
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--small", type=int, default=450)
    parser.add_argument("--small-size", type=int, default=10_240)
    parser.add_argument("--baseline", type=Path, metavar="DIR", help="another checkout")
    parser.add_argument("--workdir", type=Path, metavar="DIR", help="e.g. /dev/shm")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    trees = [here] + ([args.baseline.resolve()] if args.baseline else [])
    load = Path("/proc/loadavg").read_text().split()[0]
    with tempfile.TemporaryDirectory(prefix="bench-phases-", dir=args.workdir) as tmp:
        work = Path(tmp)
        keys = make_keypair(work / "keys")
        root = make_root(work / "root", n_assets=args.small, size=args.small_size)
        publish(root, work / "feed", keys.key, now=datetime.now(UTC))
        found: dict[Path, list[dict[str, float]]] = {t: [] for t in trees}
        with run_nginx(work / "feed", work / "nginx") as nginx:
            for r in range(args.rounds):
                for i, tree in enumerate(trees if r % 2 == 0 else trees[::-1]):
                    cache = work / f"cache-{r}-{i}"
                    found[tree].append(one_sync(tree, nginx.url, cache, keys.pubkey))
    print(
        f"cold sync of {args.small} x {args.small_size} bytes from nginx, "
        f"{args.rounds} rounds, load {load} -> {Path('/proc/loadavg').read_text().split()[0]}"
        f" (medians, ms; GC runs: count)"
    )
    names = ["this tree"] + (["baseline"] if args.baseline else [])
    print(f"{'':28s}" + "".join(f"{n:>12s}" for n in names) + ("       ratio" * (len(trees) > 1)))
    for key in ORDER:
        scale = 1 if key == "GC runs" else 1000
        values = [statistics.median(s.get(key, 0.0) for s in found[t]) * scale for t in trees]
        line = f"{key:28s}" + "".join(f"{v:12.2f}" for v in values)
        if len(values) > 1 and values[1]:
            line += f"{values[0] / values[1]:11.2f}x"
        print(line)


if __name__ == "__main__":
    main()
