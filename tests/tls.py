"""A throwaway CA with a server and a client certificate, made at test time with `cryptography`."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    client_cert: Path   # signed by the same CA, for mutual TLS
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _leaf(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, common_name: str,
          key: ec.EllipticCurvePrivateKey, extension: x509.ExtensionType) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(extension, critical=False)
            .sign(ca_key, hashes.SHA256()))


def make_ca(folder: Path, name: str = "ca") -> tuple[x509.Certificate,
                                                     ec.EllipticCurvePrivateKey]:
    """A self-signed CA, written to `folder/name.pem`."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name(f"test {name}"))
          .issuer_name(_name(f"test {name}"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    (folder / f"{name}.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca, ca_key


def make_client_files(folder: Path, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
                      name: str = "client") -> tuple[Path, Path]:
    """A client certificate (extended key usage clientAuth) signed by `ca`, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _leaf(ca, ca_key, f"conformance {name}", key,
                 x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]))
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return cert_path, key_path


def make_tls_files(folder: Path, dns_name: str = "conformance.test",
                   with_loopback_ip: bool = False) -> TlsFiles:
    ca, ca_key = make_ca(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(dns_name)]
    if with_loopback_ip:
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = _leaf(ca, ca_key, dns_name, key, x509.SubjectAlternativeName(names))
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, folder / "server.key")
    client_cert, client_key = make_client_files(folder, ca, ca_key)
    return TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key",
                    client_cert, client_key)
