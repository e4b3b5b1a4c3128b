"""Trust room: the organisation's own certificate authority (``ca_file``), added to the system's.

Intranet pages and hubs are often signed by an internal CA. ``ca_file`` in player.yaml names
a PEM file of such CA certificates; it is trusted IN ADDITION to the system store, never
instead of it, and certificate checks are never turned off:

- HTTP clients (sync, assets) get ``bundle_path``: the system's CA bundle followed by the
  organisation's certificates, written once into the cache folder.
- Web slides (Chromium has no API to add a CA) get ``chain_problem``: when Chromium refuses
  a certificate only because it does not know its issuer, the chain it was shown is
  verified here against the organisation's CAs (signature path, validity dates, server
  name) with ``cryptography``'s X.509 verifier; anything else is refused as before.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import ssl
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from signage.errors import ConfigError
from signage.i18n import _
from signage.logs import area_logger

if TYPE_CHECKING:
    from cryptography.x509 import Certificate


class TrustSettings(Protocol):
    """What the trust room reads of a player's configuration (``PlayerConfig`` has both)."""

    @property
    def ca_file(self) -> Path | None: ...

    @property
    def cache(self) -> Path: ...


log = area_logger("feed")

MAX_CA_FILE_BYTES = 1 << 20
"""A CA file larger than this is refused (a bundle of a few certificates is a few KB)."""


def load_ca_file(path: Path) -> tuple[Certificate, ...]:
    """The CA certificates in the PEM file ``path``; raises ConfigError saying what is wrong."""
    from cryptography import x509

    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CA_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            _("ca_file {path}: cannot read it ({reason})").format(
                path=path, reason=exc.strerror or exc
            )
        ) from None
    if len(data) > MAX_CA_FILE_BYTES:
        raise ConfigError(
            _("ca_file {path}: larger than {limit} bytes").format(
                path=path, limit=MAX_CA_FILE_BYTES
            )
        )
    try:
        certs = tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        raise ConfigError(
            _("ca_file {path}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)").format(
                path=path
            )
        ) from None
    return certs


def system_bundle() -> Path | None:
    """The system's CA bundle file (OpenSSL's default, else certifi's), if any."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    try:
        import certifi
    except ImportError:  # pragma: no cover - requests depends on certifi
        return None
    return Path(certifi.where())


def bundle_path(ca_file: Path, folder: Path) -> Path:
    """A PEM bundle of the system's CAs plus those of ``ca_file``, written (atomically)
    into ``folder`` under a name derived from its content; returns its path."""
    from cryptography.hazmat.primitives.serialization import Encoding

    extra = b"".join(c.public_bytes(Encoding.PEM) for c in load_ca_file(ca_file))
    system = system_bundle()
    base = system.read_bytes() if system is not None else b""
    data = base.rstrip(b"\n") + b"\n" + extra
    name = f"ca-bundle-{hashlib.sha256(data).hexdigest()[:16]}.pem"
    target = folder / name
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp-{os.getpid()}"
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def bundle_for(config: TrustSettings) -> str | None:
    """The CA bundle HTTP clients of this player use: ``None`` (the system store) without
    ``ca_file``, else the system's CAs plus ``ca_file``'s, kept in the cache folder."""
    if config.ca_file is None:
        return None
    return str(bundle_path(config.ca_file, config.cache))


def chain_problem(
    chain_der: Sequence[bytes], host: str, cas: Sequence[Certificate], now: datetime
) -> str | None:
    """Why the server chain ``chain_der`` (leaf first, DER) does not verify for ``host``
    against the CA certificates ``cas``; ``None`` when it does."""
    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    if not cas:
        return "no ca_file configured"
    if not chain_der:
        return "the server sent no certificate"
    try:
        chain = [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError:
        return "the server's certificate cannot be parsed"
    try:
        subject: x509.DNSName | x509.IPAddress = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = x509.DNSName(host)
    verifier = PolicyBuilder().store(Store(list(cas))).time(now).build_server_verifier(subject)
    try:
        verifier.verify(chain[0], chain[1:])
    except VerificationError as exc:
        return f"not signed by ca_file for {host}: {exc}"
    return None


__all__ = [
    "MAX_CA_FILE_BYTES",
    "bundle_for",
    "bundle_path",
    "chain_problem",
    "load_ca_file",
    "system_bundle",
]
