"""Benchmark: feed sync over loopback from real nginx, and publish-to-screen with push.

Figures (each printed with its target):

0. many small files (``--small 450 --small-size 10240``): a cold sync of the same feed
   from nginx and from the hub (``signage serve --feed``), each against curl on that server
   in the same run, interleaved; target >= 0.9x; the per-round ratios give the spread.
1. cold sync of N assets (default 200, >= 100 MB) with ``SyncClient`` (hash while
   streaming, flush to disk, atomic rename), throughput as a ratio of ``curl`` fetching the
   same files from the same nginx in the same run (one curl process, one connection reused,
   files written to the same disk, no flush); target >= 0.8x. Rounds rotate the order of
   the three fetches; the median of each is compared. The whole ``sync_once`` is timed
   (manifest fetch and signature check, downloads, flush, switch, garbage collection); its
   download phase alone is printed too. Also printed: curl with as many connections as
   the sync has workers (``--parallel``), and curl plus a flush to disk (equal durability).
2. a sync with nothing new: requests and asset bytes counted in nginx's access log;
   target exactly 1 request (a 304) and 0 asset bytes.
3. one changed asset among N: asset requests counted in the access log; target exactly 1.
4. publish-to-screen with push: a hub (``signage serve --root``) republishes on a saved
   edit and announces it on its push channel; a ``FeedSource`` (poll 60 s, so only push
   counts) delivers the new Content. Time from the edit's write to delivery, over 20
   publishes; target p99 <= 1 s. Baseline beside it: the hub's own edit -> version-served
   time seen by polling /healthz.

    .venv/bin/python bench/sync.py [--assets 200] [--size 524288] [--rounds 9] [--publishes 20]
        [--small 450] [--small-size 10240] [--only-small] [--baseline DIR] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signage.config import PlayerConfig
from signage.events import EventLog
from signage.feed.manifest import Manifest, parse_manifest
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import SyncClient
from signage.model import Content
from signage.sources.feed import FeedSource
from tests.helpers_feed import make_keypair, make_root, run_nginx, write_asset
from tests.helpers_hub import LOBBY_YAML, make_content_root, run_hub

THROUGHPUT_TARGET = 0.8
SMALL_TARGET = 0.9
PUSH_P99_TARGET_S = 1.0


def curl_fetch(urls: list[str], out: Path) -> tuple[float, float]:
    """Seconds for one curl process to fetch every URL into ``out`` (connection reused),
    and the same plus flushing the files to disk (the durability the sync gives)."""
    out.mkdir(parents=True, exist_ok=True)
    config = out.parent / f"{out.name}.curlrc"
    lines = []
    for i, url in enumerate(urls):
        lines.append(f'url = "{url}"')
        lines.append(f'output = "{out / str(i)}"')
    config.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    before = _children_cpu()
    subprocess.run(["curl", "-s", "-f", "-K", str(config)], check=True)
    fetched = time.perf_counter() - started
    _CPU["curl"].append(_children_cpu() - before)
    os.sync()
    return fetched, time.perf_counter() - started


# CPU seconds (user + system) of each fetch, by tool: what a loaded machine shares out,
# so a steadier comparison than elapsed time when other jobs keep the cores busy.
_CPU: dict[str, list[float]] = {"curl": [], "sync": [], "base": []}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def curl_parallel(urls: list[str], out: Path, connections: int) -> float:
    """Seconds for one curl process fetching every URL over ``connections`` connections."""
    out.mkdir(parents=True, exist_ok=True)
    config = out.parent / f"{out.name}.curlrc"
    lines = []
    for i, url in enumerate(urls):
        lines.append(f'url = "{url}"')
        lines.append(f'output = "{out / str(i)}"')
    config.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    parallel = ["--parallel", "--parallel-max", str(connections)]
    subprocess.run(
        ["curl", "-s", "-f", "--no-progress-meter", *parallel, "-K", str(config)],
        check=True,
    )
    return time.perf_counter() - started


# A cold sync in a process of its own, importing ``signage`` from PYTHONPATH (this tree or
# the --baseline one): prints the seconds of sync_once and of its download phase.
_CHILD = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from signage.feed.store import Store
from signage.feed.sync import SyncClient
url, cache, pubkey = sys.argv[1:4]
spent = []
class Timed(SyncClient):
    def _download_missing(self, manifest, counters):
        t = time.perf_counter()
        try:
            super()._download_missing(manifest, counters)
        finally:
            spent.append(time.perf_counter() - t)
client = Timed(url, Store(Path(cache)), pubkey)
started, cpu = time.perf_counter(), time.process_time()
result = client.sync_once(datetime.now(UTC))
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
client.close()
assert result.status == "updated", result
print(elapsed, spent[0], result.bytes_downloaded, cpu)
"""


def run_in_tree(tree: Path, code: str, *args: str) -> str:
    """The standard output of ``code`` run in a fresh Python on the checkout ``tree`` (its
    ``signage`` imported, its folder current); a failure ends the bench with its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=dict(os.environ, PYTHONPATH=str(tree)),
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"sync of {tree} failed:\n{done.stderr}")
    return done.stdout


def child_sync(
    tree: Path, url: str, cache: Path, pubkey: str, tool: str
) -> tuple[float, float, int]:
    """(sync_once seconds, download phase seconds, bytes) of the code in ``tree``, measured
    inside a fresh process (so the tree under test and the baseline start alike); its CPU
    seconds go to ``_CPU[tool]``."""
    elapsed, download, nbytes, cpu = run_in_tree(tree, _CHILD, url, str(cache), pubkey).split()
    _CPU[tool].append(float(cpu))
    return float(elapsed), float(download), int(nbytes)


class _TimedClient(SyncClient):
    """A SyncClient that also reports how long its download phase took."""

    download_s = 0.0

    def _download_missing(self, manifest: Manifest, counters: Any) -> None:
        started = time.perf_counter()
        try:
            super()._download_missing(manifest, counters)
        finally:
            self.download_s = time.perf_counter() - started


def sync_fetch(url: str, cache: Path, pubkey: str) -> tuple[float, float, int, int]:
    """(whole sync_once seconds, download phase seconds, bytes, workers)."""
    client = _TimedClient(url, Store(cache), pubkey)
    started, cpu = time.perf_counter(), time.process_time()
    result = client.sync_once(datetime.now(UTC))
    elapsed = time.perf_counter() - started
    _CPU["sync"].append(time.process_time() - cpu)
    client.close()
    if result.status != "updated":
        raise SystemExit(f"cold sync did not update: {result}")
    return elapsed, client.download_s, result.bytes_downloaded, client.workers


def cold_rounds(
    work: Path,
    base_url: str,
    urls: list[str],
    pubkey: str,
    *,
    total: int,
    rounds: int,
    baseline: Path | None = None,
    keep: bool = False,
) -> dict[str, list[float]]:
    """Seconds per round of curl, the sync and curl --parallel over the same files,
    interleaved (the order rotates each round). Keeps the last round's cache.

    With ``baseline`` (another checkout) its sync runs in each round too ("base"), and
    both syncs run in fresh processes of their own. With ``keep`` nothing fetched is
    deleted until the end (see bench_small)."""
    keys = ("curl", "durable", "parallel", "sync", "dl", "base", "base-dl")
    times: dict[str, list[float]] = {k: [] for k in keys}
    for spent in _CPU.values():
        spent.clear()
    workers = SyncClient(base_url, Store(work / "probe"), pubkey).workers
    tools = ["curl", "sync", "curl-parallel"] + (["base"] if baseline is not None else [])
    here = Path(__file__).resolve().parents[1]
    for r in range(rounds):
        # Each fetch starts with no dirty pages left by the previous one (os.sync), and
        # the order rotates, so none pays for another's writeback or warms for it.
        turn = r % len(tools)
        for tool in tools[turn:] + tools[:turn]:
            os.sync()
            if tool == "curl":
                fetched, durable = curl_fetch(urls, work / f"curl-{r}")
                times["curl"].append(fetched)
                times["durable"].append(durable)
                if not keep:
                    shutil.rmtree(work / f"curl-{r}")
            elif tool == "curl-parallel":
                times["parallel"].append(curl_parallel(urls, work / f"curlp-{r}", workers))
                if not keep:
                    shutil.rmtree(work / f"curlp-{r}")
            elif tool == "base":
                assert baseline is not None
                elapsed, download, nbytes = child_sync(
                    baseline, base_url, work / f"base-{r}", pubkey, "base"
                )
                assert nbytes == total
                times["base"].append(elapsed)
                times["base-dl"].append(download)
                if not keep:
                    shutil.rmtree(work / f"base-{r}")
            else:
                cache = work / f"cache-{r}"
                if baseline is not None:
                    elapsed, download, nbytes = child_sync(here, base_url, cache, pubkey, "sync")
                else:
                    elapsed, download, nbytes, _ = sync_fetch(base_url, cache, pubkey)
                assert nbytes == total
                times["sync"].append(elapsed)
                times["dl"].append(download)
                if r < rounds - 1 and not keep:
                    shutil.rmtree(cache)
    return times


def report_cold(label: str, times: dict[str, list[float]], total: int, target: float) -> None:
    rounds = len(times["sync"])
    med = statistics.median
    curl_mbs = total / med(times["curl"]) / 1e6
    sync_mbs = total / med(times["sync"]) / 1e6
    ratio = sync_mbs / curl_mbs
    best = min(times["curl"]) / min(times["sync"])
    # Each round's own ratio (curl and sync of the same round ran back to back): the spread.
    per_round = sorted(c / s for c, s in zip(times["curl"], times["sync"], strict=True))
    durable_ratio = med(times["durable"]) / med(times["sync"])
    print(
        f"{label}: {sync_mbs:.1f} MB/s vs curl {curl_mbs:.1f} MB/s (median of {rounds}) "
        f"= {ratio:.2f}x (best-of-{rounds} {best:.2f}x; per round {per_round[0]:.2f}-"
        f"{per_round[-1]:.2f}x)  [target >= {target}x] {'OK' if ratio >= target else 'MISSED'}"
    )
    print(
        f"  (the sync hashes every byte and flushes to disk before switching; against "
        f"curl followed by the same flush: {durable_ratio:.2f}x)"
    )
    print(
        f"  sync rounds {_ms(times['sync'])}, curl rounds {_ms(times['curl'])}; download "
        f"phase median {med(times['dl']) * 1000:.0f} ms of {med(times['sync']) * 1000:.0f} ms "
        f"(the rest: manifest, signature, flush, switch, GC); curl --parallel (connections "
        f"like the sync's workers): {total / med(times['parallel']) / 1e6:.1f} MB/s, "
        f"sync/that {med(times['parallel']) / med(times['sync']):.2f}x"
    )
    cpu = {k: med(v) * 1000 for k, v in _CPU.items() if v}
    line = f"  CPU per fetch (user + system, median): sync {cpu['sync']:.0f} ms, curl " + (
        f"{cpu['curl']:.0f} ms (curl/sync {cpu['curl'] / cpu['sync']:.2f}x)"
    )
    if "base" in cpu:
        line += f", baseline tree's sync {cpu['base']:.0f} ms"
    print(line + " (the servers' CPU is in neither)")
    if times["base"]:
        base_ratio = sorted(c / b for c, b in zip(times["curl"], times["base"], strict=True))
        print(
            f"  baseline tree's sync: rounds {_ms(times['base'])}, = "
            f"{med(times['curl']) / med(times['base']):.2f}x curl (per round "
            f"{base_ratio[0]:.2f}-{base_ratio[-1]:.2f}x); this sync / baseline "
            f"{med(times['base']) / med(times['sync']):.2f}x faster"
        )


def bench_small(work: Path, n: int, size: int, rounds: int, baseline: Path | None) -> None:
    """Many small files: the same feed from nginx and from the hub (``signage serve
    --feed``), each against curl on the same server in the same run.

    Nothing fetched is deleted between rounds: on a filesystem without a journal (this
    VM's ext4) every file created skips the inodes deleted in the last minutes one by one
    (``recently_deleted``), so a round that came after another's ``rmtree`` paid up to
    ~0.8 ms a file more, whichever tool it was (4.6 MB a round is kept instead)."""
    keys = make_keypair(work / "keys")
    root = make_root(work / "root", n_assets=n, size=size)
    feed = work / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    manifest = parse_manifest((feed / "feed.json").read_bytes())
    total = sum(e.size for e in manifest.assets.values())
    print(f"many small files: {n} assets of {size} bytes, {total / 1e6:.1f} MB")
    with run_nginx(feed, work / "nginx") as nginx:
        urls = [f"{nginx.url}assets/{e.sha256}" for e in manifest.assets.values()]
        times = cold_rounds(
            work / "n",
            nginx.url,
            urls,
            keys.pubkey,
            total=total,
            rounds=rounds,
            baseline=baseline,
            keep=True,
        )
        report_cold(f"cold sync, nginx (load {_load()})", times, total, SMALL_TARGET)
    with run_hub(data=work / "hub", feed=feed) as hub:
        base = hub.url + "/"
        urls = [f"{base}assets/{e.sha256}" for e in manifest.assets.values()]
        times = cold_rounds(
            work / "h",
            base,
            urls,
            keys.pubkey,
            total=total,
            rounds=rounds,
            baseline=baseline,
            keep=True,
        )
        report_cold(f"cold sync, hub (load {_load()})", times, total, SMALL_TARGET)


def bench_nginx(work: Path, n: int, size: int, rounds: int) -> None:
    keys = make_keypair(work / "keys")
    root = make_root(work / "root", n_assets=n, size=size)
    feed = work / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    manifest = parse_manifest((feed / "feed.json").read_bytes())
    total = sum(e.size for e in manifest.assets.values())
    print(f"feed: {n} assets, {total / 1e6:.1f} MB")
    with run_nginx(feed, work / "nginx") as nginx:
        urls = [f"{nginx.url}assets/{e.sha256}" for e in manifest.assets.values()]
        times = cold_rounds(work, nginx.url, urls, keys.pubkey, total=total, rounds=rounds)
        report_cold("cold sync", times, total, THROUGHPUT_TARGET)

        cache = work / f"cache-{rounds - 1}"
        before = len(nginx.access_lines())  # (waits for nginx to log the last requests)
        result = SyncClient(nginx.url, Store(cache), keys.pubkey).sync_once(datetime.now(UTC))
        lines = nginx.access_lines()[before:]
        asset_bytes = sum(int(ln.split()[3]) for ln in lines if " /assets/" in ln)
        print(
            f"no-change sync: {result.status}, {len(lines)} request(s) {lines}, "
            f"{asset_bytes} asset bytes  [target 1 request, 0 bytes] "
            f"{'OK' if len(lines) == 1 and asset_bytes == 0 else 'MISSED'}"
        )

        write_asset(root, n // 2, size, seed=4242)
        publish(root, feed, keys.key, now=datetime.now(UTC))
        before = len(nginx.access_lines())
        result = SyncClient(nginx.url, Store(cache), keys.pubkey).sync_once(datetime.now(UTC))
        assets = [ln for ln in nginx.access_lines()[before:] if " /assets/" in ln]
        print(
            f"one changed asset of {n}: {result.status}, {len(assets)} asset request(s), "
            f"{result.bytes_downloaded} bytes  [target exactly 1] "
            f"{'OK' if len(assets) == 1 else 'MISSED'}"
        )


def _load() -> str:
    """The 1-minute load average (other jobs on this machine)."""
    return Path("/proc/loadavg").read_text().split()[0]


def _ms(values: list[float]) -> str:
    return "[" + ", ".join(f"{v * 1000:.0f}" for v in values) + "] ms"


def bench_push(work: Path, publishes: int) -> None:
    root = make_content_root(work / "push-root")
    with run_hub(data=work / "hub", root=root, extra_args=["--keepalive", "1"]) as hub:
        assert hub.pubkey is not None
        delivered: list[Content] = []
        arrived = threading.Condition()

        def on_content(content: Content) -> None:
            with arrived:
                delivered.append(content)
                arrived.notify_all()

        config = PlayerConfig(
            screen="bench",
            feed=hub.url + "/",
            pubkey=hub.pubkey,
            cache=work / "push-cache",
            poll_s=60,
        )
        source = FeedSource(config)
        source.start(on_content, EventLog(None))
        try:
            deadline = time.monotonic() + 20
            while not (delivered and source.push_connected) and time.monotonic() < deadline:
                time.sleep(0.02)
            to_screen, to_hub = [], []
            for i in range(publishes):
                before = delivered[-1].version
                text = LOBBY_YAML.replace("Bienvenidos", f"Publicación {i}")
                written = time.perf_counter()
                (root / "playlists" / "lobby.yaml").write_text(text, encoding="utf-8")
                served = hub.wait_version(before, timeout=10)
                to_hub.append(time.perf_counter() - written)

                def reached(v: int = served) -> bool:
                    return delivered[-1].version >= v

                with arrived:
                    ok = arrived.wait_for(reached, timeout=10)
                if not ok:
                    raise SystemExit(f"publish {i}: version {served} never reached the screen")
                to_screen.append(time.perf_counter() - written)
                time.sleep(0.3)  # let the hub's file watcher settle between edits
        finally:
            source.stop()
    to_screen.sort()
    p99 = to_screen[min(len(to_screen) - 1, int(0.99 * len(to_screen)))]
    print(
        f"publish-to-screen with push over {publishes} publishes: median "
        f"{statistics.median(to_screen) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
        f"(hub edit->served median {statistics.median(to_hub) * 1000:.0f} ms; "
        f"screen/hub ratio {statistics.median(to_screen) / statistics.median(to_hub):.2f}x)  "
        f"[target p99 <= {PUSH_P99_TARGET_S * 1000:.0f} ms] "
        f"{'OK' if p99 <= PUSH_P99_TARGET_S else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=200)
    parser.add_argument("--size", type=int, default=524_288, help="bytes per asset")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument(
        "--small",
        type=int,
        default=450,
        metavar="N",
        help="many-small-files case: N assets of --small-size bytes (0: skip)",
    )
    parser.add_argument("--small-size", type=int, default=10_240)
    parser.add_argument("--only-small", action="store_true", help="run only that case")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="another checkout (e.g. `git archive` of an older commit): its sync runs in "
        "every round of the many-small-files case too; both syncs then run in fresh processes",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="where the feeds, caches and curl's files go (default: the system's temp "
        "folder); e.g. /dev/shm to leave the disk's file creation out of the comparison",
    )
    args = parser.parse_args()
    print(f"load average at start: {_load()}")
    with tempfile.TemporaryDirectory(prefix="bench-sync-", dir=args.workdir) as tmp:
        work = Path(tmp)
        if args.small:
            bench_small(work / "small", args.small, args.small_size, args.rounds, args.baseline)
        if args.only_small:
            return
        bench_nginx(work, args.assets, args.size, args.rounds)
        bench_push(work, args.publishes)


if __name__ == "__main__":
    main()
