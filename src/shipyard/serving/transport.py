"""Checks made before a port opens: the TLS files, and whether the server may be reached without auth.

Both fail with a one-line `ConfigError` naming the setting, before uvicorn or gRPC start: a bad
certificate found by uvicorn in a worker process would otherwise surface as a traceback, after
the command had already said it was serving.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from ..config import ServerSettings
from ..errors import ConfigError

logger = logging.getLogger(__name__)

_CERT_SETTING = "SHIPYARD_SERVER__TLS_CERT"
_KEY_SETTING = "SHIPYARD_SERVER__TLS_KEY"


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, `localhost`)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other host name may resolve to a public interface: count it as exposed


def check_exposure(server: ServerSettings, *, auth: bool) -> None:
    """Refuse to listen beyond this machine with auth off, unless `server.insecure` says the network is trusted."""
    if auth or is_loopback(server.host):
        return
    if server.insecure:
        logger.warning("serving on %s with auth disabled (--insecure): every caller acts as an admin", server.host)
        return
    raise ConfigError(
        "SHIPYARD_SERVER__HOST",
        f"{server.host!r} is reachable from other machines and auth is off (SHIPYARD_SECURITY__AUTH=false), "
        "so every caller would act as an admin; bind 127.0.0.1, turn auth on, or pass --insecure "
        "if every client on that network is trusted",
    )


@dataclass(frozen=True)
class TlsFiles:
    """A checked certificate chain and its private key, as paths (uvicorn) and PEM bytes (gRPC)."""

    cert_file: Path
    key_file: Path
    cert_pem: bytes
    key_pem: bytes

    def __repr__(self) -> str:  # never the key's bytes
        return f"TlsFiles(cert_file={str(self.cert_file)!r}, key_file={str(self.key_file)!r})"


def load_tls(server: ServerSettings) -> TlsFiles | None:
    """The TLS files of `server`, checked: readable, PEM, unencrypted key matching the certificate.

    None when TLS is not configured (`ServerSettings` already refuses one file without the other).
    """
    if server.tls_cert is None or server.tls_key is None:
        return None
    cert_pem = _read(server.tls_cert, _CERT_SETTING)
    key_pem = _read(server.tls_key, _KEY_SETTING)
    _check_pair(cert_pem, key_pem, server.tls_cert, server.tls_key)
    return TlsFiles(server.tls_cert, server.tls_key, cert_pem, key_pem)


def _read(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(setting, f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc


def _check_pair(cert_pem: bytes, key_pem: bytes, cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as exc:
        raise ConfigError(_CERT_SETTING, f"{str(cert_path)!r} holds no PEM certificate") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError as exc:  # cryptography's way of saying "this key needs a password"
        raise ConfigError(_KEY_SETTING, f"{str(key_path)!r} is encrypted; give an unencrypted PEM key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(_KEY_SETTING, f"{str(key_path)!r} holds no PEM private key") from exc
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if chain[0].public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
        raise ConfigError(_KEY_SETTING, f"{str(key_path)!r} is not the private key of the certificate in tls_cert")


__all__ = ["TlsFiles", "check_exposure", "is_loopback", "load_tls"]
