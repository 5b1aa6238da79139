#!/usr/bin/env python3
"""Makes the throwaway certificates of the tests' TLS engine (scripts/test-remote-engines).

    scripts/make-test-certs.py DIR

writes into DIR, each file 0600, anything there before replaced:
  ca.pem                          the CA both the engine and its clients trust
  server-cert.pem server-key.pem  the engine's: serverAuth, SAN IP:127.0.0.1 and DNS:localhost
  cert.pem key.pem                a client's: clientAuth, signed by that CA
  other-ca.pem                    a second CA, which the engine does not trust
  other-cert.pem other-key.pem    a client's signed by the second CA: a wrong client certificate
The names are the ones `docker --tlsverify` reads from DOCKER_CERT_PATH. The CAs' own keys
are kept nowhere: a new set is made whenever the engine starts.
"""

import datetime
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = datetime.timedelta(days=30)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Berth tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def builder(subject: x509.Name, issuer: x509.Name, key, issuer_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # An hour back, so that a clock a little behind still accepts it.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )


def make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = new_key()
    subject = name(common_name)
    cert = (
        builder(subject, subject, key, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(common_name, ca, ca_key, usage, alt_names=None):
    key = new_key()
    built = (
        builder(name(common_name), ca.subject, key, ca_key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if alt_names:
        built = built.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return built.sign(ca_key, hashes.SHA256()), key


def write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(data)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def main(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca, ca_key = make_ca("Berth test CA")
    server, server_key = make_leaf(
        "localhost",
        ca,
        ca_key,
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    client, client_key = make_leaf("berth-test-client", ca, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH)
    other_ca, other_ca_key = make_ca("Berth test other CA")
    other, other_key = make_leaf(
        "berth-test-other-client", other_ca, other_ca_key, ExtendedKeyUsageOID.CLIENT_AUTH
    )
    files = {
        "ca.pem": cert_pem(ca),
        "server-cert.pem": cert_pem(server),
        "server-key.pem": key_pem(server_key),
        "cert.pem": cert_pem(client),
        "key.pem": key_pem(client_key),
        "other-ca.pem": cert_pem(other_ca),
        "other-cert.pem": cert_pem(other),
        "other-key.pem": key_pem(other_key),
    }
    for file_name, data in files.items():
        write(directory / file_name, data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} DIR")
    main(Path(sys.argv[1]))
