"""boto3 clients for the local emulator (dummy keys, loopback endpoint) and a certificate for its HTTPS listeners."""

from __future__ import annotations

import datetime as dt
from typing import Any

REGION = "us-east-1"


def client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal"
    )


def import_certificate(endpoint: str) -> str:
    """A self-signed certificate in the emulator's ACM, for the HTTPS listener; returns its ARN."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "inventory.rehearsal.invalid")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    response = client(endpoint, "acm").import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM), PrivateKey=pem_key
    )
    return str(response["CertificateArn"])
