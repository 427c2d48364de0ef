"""TLS for HTTP and gRPC (`shipyard serve --tls-cert/--tls-key`), its misconfigurations, and the refusal to
expose a server without auth."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shipyard.config import ServerSettings, Settings, load_settings
from shipyard.errors import ConfigError
from shipyard.registry import open_registry
from shipyard.serving.transport import check_exposure, is_loopback, load_tls

from .._services import free_port
from .fakes import SumModel

SHIPYARD = [sys.executable, "-m", "shipyard"]


def write_self_signed(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


# --- checks before a port opens -----------------------------------------------------------------


def test_load_tls_reads_a_matching_pair(tmp_path: Path) -> None:
    cert, key = write_self_signed(tmp_path)
    tls = load_tls(ServerSettings(tls_cert=cert, tls_key=key))
    assert tls is not None and tls.cert_pem == cert.read_bytes() and tls.key_pem == key.read_bytes()
    assert "PRIVATE" not in repr(tls)
    assert load_tls(ServerSettings()) is None


def test_half_a_pair_is_a_config_error(tmp_path: Path) -> None:
    cert, key = write_self_signed(tmp_path)
    with pytest.raises(ConfigError, match="SHIPYARD_SERVER__TLS_KEY: not set, but tls_cert is"):
        load_settings(server={"tls_cert": str(cert)})
    with pytest.raises(ConfigError, match="SHIPYARD_SERVER__TLS_KEY: set without tls_cert"):
        load_settings(server={"tls_key": str(key)})


def test_unusable_tls_files_are_config_errors(tmp_path: Path) -> None:
    cert, key = write_self_signed(tmp_path)
    other_cert, other_key = write_self_signed(tmp_path, "other")
    encrypted = tmp_path / "encrypted.key"
    loaded = serialization.load_pem_private_key(key.read_bytes(), password=None)
    encrypted.write_bytes(
        loaded.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    cases = [
        (tmp_path / "missing.crt", key, "SHIPYARD_SERVER__TLS_CERT: cannot read .*missing.crt"),
        (key, key, "SHIPYARD_SERVER__TLS_CERT: .* holds no PEM certificate"),
        (cert, cert, "SHIPYARD_SERVER__TLS_KEY: .* holds no PEM private key"),
        (cert, encrypted, "SHIPYARD_SERVER__TLS_KEY: .* is encrypted"),
        (cert, other_key, "SHIPYARD_SERVER__TLS_KEY: .* is not the private key of the certificate"),
    ]
    for cert_file, key_file, message in cases:
        with pytest.raises(ConfigError, match=message) as info:
            load_tls(ServerSettings(tls_cert=cert_file, tls_key=key_file))
        assert "\n" not in str(info.value)
    assert load_tls(ServerSettings(tls_cert=other_cert, tls_key=other_key)) is not None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("", False),
        ("myhost.example", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposure_without_auth_needs_insecure() -> None:
    with pytest.raises(ConfigError, match="SHIPYARD_SERVER__HOST: '0.0.0.0' is reachable .* --insecure"):
        check_exposure(ServerSettings(host="0.0.0.0"), auth=False)
    check_exposure(ServerSettings(host="0.0.0.0", insecure=True), auth=False)
    check_exposure(ServerSettings(host="0.0.0.0"), auth=True)
    check_exposure(ServerSettings(host="127.0.0.1"), auth=False)


# --- the real command ---------------------------------------------------------------------------


def serve_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SHIPYARD, "serve", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.integration
def test_serve_refuses_a_public_address_without_auth(tmp_path: Path) -> None:
    env = {**os.environ, "SHIPYARD_SECURITY__AUTH": "false", "PYTHONWARNINGS": "ignore"}
    refused = serve_command("--host", "0.0.0.0", "--port", str(free_port()), env=env)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "--insecure" in lines[0] and "0.0.0.0" in lines[0]
    assert "Serving" not in refused.stdout


@pytest.mark.integration
def test_serve_refuses_half_a_tls_pair(tmp_path: Path) -> None:
    cert, _ = write_self_signed(tmp_path)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    refused = serve_command("--tls-cert", str(cert), env=env)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "SHIPYARD_SERVER__TLS_KEY" in lines[0]


def _wait_ready(url: str, proc: subprocess.Popen[str], context: ssl.SSLContext) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1, verify=context).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("server not ready in time")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    home = folder / "home"
    registry = open_registry(Settings(home=home, user="alice"))
    registry.register(SumModel(), "sum", data=np.zeros((4, 3)))
    registry.db.close()
    cert, key = write_self_signed(folder)
    port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(home),
        "SHIPYARD_SECURITY__AUTH": "false",  # loopback only: allowed without --insecure
        "PYTHONWARNINGS": "ignore",
    }
    args = ["serve", "--port", str(port), "--grpc-port", str(grpc_port), "--tls-cert", str(cert), "--tls-key", str(key)]
    proc = subprocess.Popen([*SHIPYARD, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"https://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, ssl.create_default_context(cafile=str(cert)))
        yield url, f"127.0.0.1:{grpc_port}", cert
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.integration
def test_https_with_the_certificate(tls_server: tuple[str, str, Path]) -> None:
    url, _, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    body = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}]}
    response = httpx.post(f"{url}/v2/models/sum/infer", json=body, verify=context, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == [6.0, 15.0]
    with pytest.raises(httpx.ConnectError):  # not trusted without the certificate
        httpx.get(f"{url}/v2/health/live", timeout=5)
    with pytest.raises(httpx.TransportError):  # and no plaintext on the TLS port
        httpx.get(url.replace("https://", "http://") + "/v2/health/live", timeout=5)


@pytest.mark.integration
def test_grpc_with_the_certificate(tls_server: tuple[str, str, Path]) -> None:
    _, address, cert = tls_server
    client = triton.InferenceServerClient(url=address, ssl=True, root_certificates=str(cert))
    try:
        assert client.is_server_ready()
        tensor = triton.InferInput("x", [2, 3], "FP64")
        tensor.set_data_from_numpy(np.arange(6, dtype=np.float64).reshape(2, 3))
        result = client.infer("sum", [tensor])
        np.testing.assert_array_equal(result.as_numpy(result.get_response().outputs[0].name), [3.0, 12.0])
    finally:
        client.close()
    plain = triton.InferenceServerClient(url=address)
    try:
        with pytest.raises(Exception, match="UNAVAILABLE|Socket closed|failed to connect"):
            plain.is_server_ready(client_timeout=5)
    finally:
        plain.close()
