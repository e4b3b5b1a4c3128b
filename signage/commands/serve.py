"""``signage serve``: run the hub (feed, push channel, and the areas' APIs) with uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from signage.hub.state import Hub

from signage.i18n import N_, _

HELP = N_(
    "run the hub: serve the feed, republish on source changes, push channel, alert and "
    "heartbeat APIs"
)

DEFAULT_PORT = 8750
HUB_KEY_NAME = "hub-key.pem"
ROOT_DATA_NAME = ".signage-hub"


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help=_(
            "the live content root (holds playlists/ and assets/), published again on every "
            "saved change (default: the current folder)"
        ),
    )
    source.add_argument(
        "--feed",
        type=Path,
        metavar="DIR",
        help=_("serve a feed folder published elsewhere ('signage publish --out FEED_DIR')"),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="HOST",
        help=_("the address to listen on (default %(default)s)"),
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="N",
        help=_("the port to listen on; 0 picks a free one (default %(default)s)"),
    )
    parser.add_argument(
        "--key",
        type=Path,
        metavar="FILE",
        help=_(
            "the Ed25519 signing key (from 'signage keygen'); with --root and no --key the "
            "hub makes one and keeps it as DATA/{name}"
        ).format(name=HUB_KEY_NAME),
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=_(
            "a file holding the admin bearer token that write endpoints require (none: "
            "writes are off); keep it off the screens"
        ),
    )
    parser.add_argument(
        "--screen-token-file",
        type=Path,
        metavar="FILE",
        help=_(
            "a file holding the token screens put in their hub_token_file: it opens only "
            "heartbeats and proof-of-play, never alerts or republishing (must differ from "
            "--token-file)"
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help=_(
            "the hub's own state: database, key, alerts, published feed (default: "
            "ROOT/{name} with --root, the feed folder's parent with --feed)"
        ).format(name=ROOT_DATA_NAME),
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help=_("the base URL screens and phones reach the hub at (default http://HOST:PORT)"),
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        metavar="ADDRS",
        help=_(
            "comma-separated addresses or networks of the reverse proxies in front of the "
            "hub (e.g. 127.0.0.1 for nginx on this machine): only their X-Forwarded-Proto "
            "and X-Forwarded-For are believed. Default: none, the headers are ignored"
        ),
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help=_("the push channel's keep-alive interval (default %(default)s)"),
    )
    parser.add_argument(
        "--max-push",
        type=int,
        default=10_000,
        metavar="N",
        help=_(
            "the most push channels open at once; more are refused with 503 (default %(default)s)"
        ),
    )
    parser.add_argument(
        "--max-unenrolled",
        type=int,
        default=200,
        metavar="N",
        help=_(
            "how many screens without a token of their own (shared or admin token) the hub "
            "keeps; a new one beyond is refused (default %(default)s; enrol screens with "
            "'signage screen add')"
        ),
    )
    for what, default, kept in (
        ("scans", 400, _("days the hub keeps QR scans (default %(default)s)")),
        ("plays", 400, _("days the hub keeps hourly play counts (default %(default)s)")),
        (
            "screens",
            30,
            _(
                "days the hub keeps screens that stopped reporting, and their screenshots "
                "(default %(default)s)"
            ),
        ),
    ):
        parser.add_argument(f"--keep-{what}", type=int, default=default, metavar="DAYS", help=kept)
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help=_(
            "close a connection that has not sent a complete request head this long after "
            "opening or after its last answer; 0 turns it off (default %(default)s)"
        ),
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help=_("uvicorn's log level (default %(default)s)"),
    )
    parser.add_argument("--access-log", action="store_true", help=_("log every request"))
    parser.add_argument(
        "--expires",
        default="7d",
        metavar="DURATION",
        help=_(
            "the lifetime of each version the hub signs: how long screens keep playing it "
            "if the hub goes away (default 7d). A running hub signs the same content again "
            "half-way through, so its feed never expires while it runs"
        ),
    )
    parser.add_argument(
        "--mirror",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help=_(
            "also write every version the hub signs into this folder (a static mirror "
            "that nginx serves; repeatable). At start-up, alerts raised into it with "
            "'signage alert raise --feed-dir' while the hub was down are taken in"
        ),
    )
    parser.add_argument(
        "--alert-key",
        action="append",
        default=[],
        metavar="KEY",
        help=_(
            "an alerts-only public key (base64, or a file holding it) whose emergency "
            "alerts, found in a --mirror folder, the hub takes in (repeatable)"
        ),
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help=_(
            "the organisation's CA certificates, trusted beside the system's when the hub "
            "fetches the https data of data slides (root mode)"
        ),
    )
    parser.add_argument(
        "--data-check",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help=_(
            "how often the hub looks for data slides whose 'refresh' is due (root mode; "
            "default %(default)s)"
        ),
    )
    parser.add_argument(
        "--refresh-check",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help=_(
            "how often the hub checks whether its feed is half-way to expiring "
            "(default %(default)s)"
        ),
    )


def _bind(host: str, port: int) -> socket.socket:
    import errno
    import socket

    from signage.errors import SignageError
    from signage.hub.connections import LISTEN_BACKLOG

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SignageError(
            _("--host {host}: cannot resolve it ({reason})").format(host=host, reason=exc.strerror)
        ) from None
    family, kind, proto, _canonical, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SignageError(
                _(
                    "cannot listen on {host}:{port}: the port is in use (another hub?); stop "
                    "it or choose another --port"
                ).format(host=host, port=port)
            ) from None
        if exc.errno == errno.EACCES:
            raise SignageError(
                _(
                    "cannot listen on {host}:{port}: permission denied (ports below 1024 need "
                    "privileges); choose another --port"
                ).format(host=host, port=port)
            ) from None
        raise SignageError(
            _("cannot listen on {host}:{port}: {reason}").format(
                host=host, port=port, reason=exc.strerror
            )
        ) from None
    sock.listen(LISTEN_BACKLOG)
    sock.set_inheritable(True)
    return sock


def _proxy_list(value: str | None) -> list[str]:
    """``--forwarded-allow-ips`` as a list of addresses or networks, each checked."""
    import ipaddress

    from signage.errors import UsageError

    if value is None:
        return []
    found: list[str] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if part == "*":
            found.append(part)
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise UsageError(
                _(
                    "--forwarded-allow-ips {value}: {part} is not an address or network; "
                    "give e.g. 127.0.0.1 or 10.0.0.0/24"
                ).format(value=value, part=repr(part))
            ) from None
        found.append(part)
    return found


def _key(
    args: argparse.Namespace, data_dir: Path, root_mode: bool
) -> tuple[Ed25519PrivateKey | None, Path | None]:
    from signage.feed.signing import generate_key, load_private_key, write_private_key

    if args.key is not None:
        return load_private_key(args.key), args.key
    if not root_mode:
        return None, None
    path = data_dir / HUB_KEY_NAME
    if path.exists():
        return load_private_key(path), path
    key = generate_key()
    write_private_key(key, path)
    return key, path


def _mirrors(hub: Hub, args: argparse.Namespace) -> int:
    """``--mirror``: takes in emergency alerts raised there, then mirrors every version."""
    from signage.commands.sync import read_pubkey
    from signage.errors import UsageError
    from signage.hub import mirrors

    dirs = [Path(d).resolve() for d in args.mirror]
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                _("--mirror {folder}: cannot create it ({reason})").format(
                    folder=d, reason=exc.strerror
                )
            ) from None
    keys = [read_pubkey(k) for k in args.alert_key]
    taken = mirrors.take_in(hub, dirs, keys, hub.now()) if dirs else 0
    if dirs:
        mirrors.attach(hub, dirs)
        mirrors.watch(hub, dirs, keys)
    return taken


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os

    import uvicorn

    from signage.commands.publish import parse_lifetime
    from signage.errors import SignageError, UsageError, ValidationError
    from signage.hub import gcpolicy
    from signage.hub.app import create_app
    from signage.hub.auth import read_token_file
    from signage.hub.connections import (
        DEFAULT_KEEP_ALIVE_S,
        LISTEN_BACKLOG,
        MAX_HEAD_BYTES,
        plan_budget,
        raise_open_files,
    )
    from signage.hub.fastpath import ManifestLane
    from signage.hub.policy import HubPolicy
    from signage.hub.server_pieces import chosen_pieces, guarded_protocol, manifest_lane
    from signage.hub.state import Hub, HubConfig
    from signage.logs import area_logger, harden_root_handlers

    harden_root_handlers()  # a hub runs for months: a repeated error reaches stderr once
    log = area_logger("hub")
    root: Path | None = None
    if args.feed is not None:
        feed_dir = args.feed.resolve()
        if not feed_dir.is_dir():
            raise UsageError(
                _(
                    "--feed {folder}: no such folder; publish one with "
                    "'signage publish --out FEED_DIR' or serve a content root with --root"
                ).format(folder=args.feed)
            )
        data_dir = (args.data or feed_dir.parent).resolve()
    else:
        root = (args.root or Path()).resolve()
        if not root.is_dir():
            raise UsageError(_("--root {folder}: no such folder").format(folder=args.root or "."))
        if not (root / "playlists").is_dir():
            raise UsageError(
                _(
                    "--root {folder}: no playlists/ folder here; is this a content root? "
                    "(use --feed FEED_DIR to serve a published feed)"
                ).format(folder=root)
            )
        data_dir = (args.data or root / ROOT_DATA_NAME).resolve()
        feed_dir = data_dir / "feed"
    if args.public_url is not None and not args.public_url.startswith(("http://", "https://")):
        raise UsageError(
            _(
                "--public-url {url}: give the full base URL, e.g. https://pantallas.example.gov.co"
            ).format(url=args.public_url)
        )
    if args.keepalive <= 0:
        raise UsageError(
            _("--keepalive {value}: must be a positive number of seconds").format(
                value=args.keepalive
            )
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(_("--port {value}: a port is 0..65535").format(value=args.port))
    if not args.header_timeout >= 0:
        raise UsageError(
            _("--header-timeout {value}: must be 0 or more seconds").format(
                value=args.header_timeout
            )
        )
    for flag in ("keep_scans", "keep_plays", "keep_screens"):
        if not 1 <= getattr(args, flag) <= 36_600:
            name = "--" + flag.replace("_", "-")
            raise UsageError(
                _("{flag} {value}: a number of days from 1 to 36600").format(
                    flag=name, value=getattr(args, flag)
                )
            )
    if args.max_unenrolled < 0:
        raise UsageError(
            _("{flag} {value}: must be 0 or more").format(
                flag="--max-unenrolled", value=args.max_unenrolled
            )
        )
    if args.max_push < 0:
        raise UsageError(
            _("{flag} {value}: must be 0 or more").format(flag="--max-push", value=args.max_push)
        )
    if not args.refresh_check > 0:
        raise UsageError(
            _("--refresh-check {value}: must be a positive number of seconds").format(
                value=args.refresh_check
            )
        )
    lifetime = parse_lifetime(args.expires)
    proxies = _proxy_list(args.forwarded_allow_ips)
    token = read_token_file(args.token_file) if args.token_file is not None else None
    screen_token = (
        read_token_file(args.screen_token_file, "--screen-token-file")
        if args.screen_token_file is not None
        else None
    )
    if token is not None and screen_token is not None and token == screen_token:
        raise UsageError(
            _(
                "--screen-token-file {screen_file} holds the same token as --token-file "
                "{admin_file}: a screen would then hold the admin token; make a new one, "
                "e.g. head -c 24 /dev/urandom | base64 > screen.token"
            ).format(screen_file=args.screen_token_file, admin_file=args.token_file)
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            _("--data {folder}: cannot create it ({reason})").format(
                folder=data_dir, reason=exc.strerror
            )
        ) from None
    key, key_path = _key(args, data_dir, root is not None)
    budget = plan_budget(*raise_open_files(), args.max_push)

    sock = _bind(args.host, args.port)
    try:
        port = sock.getsockname()[1]
        config = HubConfig(
            root=root,
            feed_dir=feed_dir,
            data_dir=data_dir,
            key_path=key_path,
            token=token,
            screen_token=screen_token,
            host=args.host,
            port=port,
            public_url=args.public_url,
            keepalive_s=args.keepalive,
            max_subscribers=budget.max_push,
            expires_in=lifetime,
            refresh_check_s=args.refresh_check,
            policy=HubPolicy(
                max_unenrolled=args.max_unenrolled,
                keep_scans_days=args.keep_scans,
                keep_plays_days=args.keep_plays,
                keep_screens_days=args.keep_screens,
            ),
            ca_file=args.ca_file,
            data_check_s=args.data_check,
        )
        hub = Hub(config, key=key)
        hub.load()
        app = create_app(hub)
        taken = _mirrors(hub, args)
        if root is not None:
            try:
                # A restart with the same content keeps the version screens already have
                # (the refresher signs it again if it is half-way to expiring).
                hub.publish_root("hub started", skip_unchanged=True)
            except ValidationError as exc:
                if not hub.snapshot().published:
                    raise
                log.warning(
                    "the content root is invalid; serving the last good version %d:\n%s",
                    hub.current_version(),
                    exc,
                )
        elif not hub.snapshot().published:
            log.warning("%s holds no feed.json yet; serving it once it is published", feed_dir)
        elif taken and hub.can_sign:
            hub.republish("emergency alerts taken in")
        if token is not None and screen_token is None:
            log.warning(
                "no --screen-token-file: screens must hold the admin token to send "
                "heartbeats and proof-of-play; give them a screen token of their own "
                "(see docs/hub.md)"
            )
        if key is None:
            log.warning("no --key: this hub serves the feed but cannot publish alerts into it")
        if args.public_url is None and args.host in ("0.0.0.0", "::", ""):  # noqa: S104
            log.warning(
                "listening on all interfaces without --public-url: QR links will point at "
                "%s; set --public-url to the address phones and screens use",
                config.base_url,
            )

        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"signage hub listening on http://{host}:{port}", flush=True)
        if key is not None:
            print(f"signage hub public key: {hub.public_key()}", flush=True)
        print(f"signage hub serving version {hub.current_version()} from {feed_dir}", flush=True)
        print(f"signage hub {budget.describe()}", flush=True)
        log.info("%s", budget.describe())
        if budget.max_push < args.max_push:
            log.warning(
                "--max-push %d does not fit the open-file limit %d: at most %d push channels "
                "(raise the hard limit, e.g. LimitNOFILE= in the systemd unit)",
                args.max_push,
                budget.open_files,
                budget.max_push,
            )

        class HubServer(uvicorn.Server):
            gc_task: asyncio.Task[None] | None = None

            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets)
                # Long-lived objects frozen as they settle: collections stay short.
                self.gc_task = asyncio.create_task(gcpolicy.keep_young(), name="signage-hub-gc")

            async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                hub.push.close()  # end open push channels so shutdown need not wait for them
                if self.gc_task is not None:
                    self.gc_task.cancel()
                await super().shutdown(sockets)

        http_impl, loop_impl = chosen_pieces()
        print(f"signage hub on the {http_impl} parser and the {loop_impl} event loop", flush=True)
        # Manifest polls are answered before Starlette's routing (signage.hub.fastpath).
        served = ManifestLane(app, hub) if manifest_lane(os.environ) else app
        uv_config = uvicorn.Config(
            served,
            log_level=args.log_level,
            access_log=args.access_log,
            lifespan="on",
            timeout_graceful_shutdown=2,
            backlog=LISTEN_BACKLOG,
            http=guarded_protocol(budget.max_connections, args.header_timeout, http_impl),
            timeout_keep_alive=DEFAULT_KEEP_ALIVE_S,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            loop=loop_impl,
            # Forwarded headers are believed from the named proxies only; with none named
            # they are not read at all (uvicorn would otherwise trust 127.0.0.1 by default,
            # and any local process could claim another address or https).
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
        if args.access_log:  # uvicorn logs requests at INFO, below the default level
            logging.getLogger("uvicorn.access").setLevel(logging.INFO)
        server = HubServer(uv_config)
        gcpolicy.settle()  # full collections would stop the event loop for seconds
        gcpolicy.watch_pauses()  # and any long one left is logged
        server.run(sockets=[sock])
    except SignageError:
        raise
    finally:
        sock.close()
    return 0
