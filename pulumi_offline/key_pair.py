"""Real RSA key pairs derived from a resource's name, for pulumi-tls keys offline."""

from __future__ import annotations

import functools
import hashlib
import math
import random

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Miller-Rabin rounds for the 1024-bit primes of a 2048-bit RSA key at an error probability
# of 2^-112: FIPS 186-5, Table B.1 (https://doi.org/10.6028/NIST.FIPS.186-5). 40 rounds
# cost a second of a preview per key and bought nothing.
ROUNDS = 5


def _probable_prime(candidate: int, rounds: random.Random) -> bool:
    """Miller-Rabin; bases from the caller's seeded generator, so the answer is repeatable."""
    if candidate % 2 == 0:
        return candidate == 2
    odd, twos = candidate - 1, 0
    while odd % 2 == 0:
        odd, twos = odd // 2, twos + 1
    for _ in range(ROUNDS):
        witness = pow(rounds.randrange(2, candidate - 1), odd, candidate)
        if witness in (1, candidate - 1):
            continue
        for _ in range(twos - 1):
            witness = pow(witness, 2, candidate)
            if witness == candidate - 1:
                break
        else:
            return False
    return True


def _odd_primes_below(limit: int) -> list[int]:
    sieve = bytearray([1]) * limit
    for n in range(3, math.isqrt(limit) + 1, 2):
        if sieve[n]:
            sieve[n * n :: 2 * n] = bytes(len(range(n * n, limit, 2 * n)))
    return [n for n in range(3, limit, 2) if sieve[n]]


# One gcd with the odd primes below 2^14 rejects about nine in ten odd candidates
# before the first modular exponentiation.
_SMALL_PRIMES_PRODUCT = math.prod(_odd_primes_below(1 << 14))


def _seeded_prime(bits: int, stream: random.Random) -> int:
    while True:
        candidate = stream.getrandbits(bits) | (0b11 << (bits - 2)) | 1  # full length, odd
        if math.gcd(candidate, _SMALL_PRIMES_PRODUCT) != 1:  # cheap sieve before Miller-Rabin
            continue
        if math.gcd(candidate - 1, 65537) == 1 and _probable_prime(candidate, stream):
            return candidate


@functools.cache
def offline_key_pair(name: str, bits: int) -> dict[str, str]:
    """What a pulumi-tls RSA PrivateKey resolves to offline: a real key pair, so the public PEM
    is one CloudFront would take and tests can verify signatures with it. Derived from the
    resource's name (cryptography cannot seed its generator), so two previews of the same
    program agree and `--diff` shows no change. The private PEM is a secret output."""
    seed = hashlib.sha256(f"tls::{name}::{bits}".encode()).digest()
    stream = random.Random(seed)  # noqa: S311 (an offline stand-in, never a real key)
    p, q = _seeded_prime(bits // 2, stream), _seeded_prime(bits // 2, stream)
    public_exponent = 65537
    private_exponent = pow(public_exponent, -1, (p - 1) * (q - 1))
    key = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=private_exponent,
        dmp1=rsa.rsa_crt_dmp1(private_exponent, p),
        dmq1=rsa.rsa_crt_dmq1(private_exponent, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(public_exponent, p * q),
    ).private_key()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return {
        "algorithm": "RSA",
        "publicKeyPem": public_pem.decode(),
        "privateKeyPem": private_pem.decode(),
        "publicKeyFingerprintSha256": "SHA256:" + hashlib.sha256(public_pem).hexdigest(),
    }
