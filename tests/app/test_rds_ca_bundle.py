"""The vendored RDS CA bundle (app/certs/README.md) the database secrets point libpq at."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from components.data.database_access import RDS_CA_BUNDLE

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "app" / "certs" / "rds-global-bundle.pem"


def test_the_images_hold_the_bundle_where_the_secrets_point() -> None:
    # Both Dockerfiles copy app/ to /app/app.
    for dockerfile in ("Dockerfile.api", "Dockerfile.worker"):
        text = (REPO / dockerfile).read_text()
        assert "WORKDIR /app" in text
        assert "COPY app ./app" in text
    assert "/app/" + str(BUNDLE.relative_to(REPO)) == RDS_CA_BUNDLE


def test_every_certificate_is_a_self_signed_amazon_rds_root() -> None:
    certificates = x509.load_pem_x509_certificates(BUNDLE.read_bytes())
    assert len(certificates) == 96
    for certificate in certificates:
        assert certificate.subject == certificate.issuer
        certificate.verify_directly_issued_by(certificate)  # raises on a bad signature
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.value.ca is True
        (name,) = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        assert name.value == "Amazon Web Services, Inc."


def test_the_platform_region_has_a_current_rsa2048_root() -> None:
    """Aurora's default CA is rds-ca-rsa2048-g1: its root for us-east-1 must be there and
    valid today (an expired-only bundle would refuse every connection)."""
    now = datetime.now(UTC)
    current = {
        certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        for certificate in x509.load_pem_x509_certificates(BUNDLE.read_bytes())
        if certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc
    }
    assert "Amazon RDS us-east-1 Root CA RSA2048 G1" in current
