"""Self-signed certificates for TLS tests."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess

__all__ = ["make_self_signed_cert", "CertToolMissing"]


class CertToolMissing(RuntimeError):
    """Neither the ``openssl`` CLI nor the ``cryptography`` package is available."""


def make_self_signed_cert(
    directory: str, name: str = "target", hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> tuple[str, str]:
    """Write a self-signed certificate for ``hosts`` (IPs or DNS names) into ``directory``.

    Returns ``(cert_file, key_file)`` (PEM). The certificate is its own CA, so
    clients trust it by loading ``cert_file`` as a CA file. Uses the
    ``openssl`` CLI, or the ``cryptography`` package when the CLI is missing;
    raises :class:`CertToolMissing` when neither is there.
    """
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    openssl = shutil.which("openssl")
    san = ",".join(f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in hosts)
    if openssl:
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "7",
                "-subj",
                f"/CN={hosts[0]}",
                "-keyout",
                key,
                "-out",
                cert,
                "-addext",
                f"subjectAltName={san}",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,digitalSignature,keyCertSign",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return cert, key
    try:
        _with_cryptography(cert, key, hosts)
    except ImportError:
        raise CertToolMissing("making a test certificate needs the openssl CLI or the cryptography package") from None
    return cert, key


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _with_cryptography(cert_path: str, key_path: str, hosts: tuple[str, ...]) -> None:
    import ipaddress

    from cryptography import x509  # type: ignore[import-not-found, unused-ignore]
    from cryptography.hazmat.primitives import hashes, serialization  # type: ignore[import-not-found, unused-ignore]
    from cryptography.hazmat.primitives.asymmetric import ec  # type: ignore[import-not-found, unused-ignore]
    from cryptography.x509.oid import NameOID  # type: ignore[import-not-found, unused-ignore]

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in hosts]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
