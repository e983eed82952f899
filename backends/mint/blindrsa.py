"""RSA blind signatures, RFC 9474 (RSABSSA-SHA384-{PSS,PSSZERO}-{Randomized,Deterministic}).

Read beside the RFC: the names are its names (``prepare``, ``blind``, ``blind_sign``,
``finalize``, ``verify``) and the checks come in its order. The wallet side (prepare, blind,
finalize, verify) is plain Python over integers; the mint side (``blind_sign``) runs the
private operation in OpenSSL (see ``rsa_native``) and verifies the result before releasing
it (section 4.3). Final signatures are standard RSASSA-PSS and are verified with
``cryptography``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from enum import Enum

from .errors import InvalidBlindInput, InvalidSignature, MintKeyError, SigningFailure
from .rsa_native import RsaOperation

_HASH = hashlib.sha384
_HASH_LEN = 48
MSG_PREFIX_LEN = 32  # section 4.1: the Randomized variants prepend 32 random bytes
MIN_MODULUS_BITS = 2048  # section 5: smaller keys are not acceptable for a mint


class Variant(Enum):
    """The four RFC 9474 variants (section 5): salt length and message preparation."""

    PSS_RANDOMIZED = "RSABSSA-SHA384-PSS-Randomized"
    PSSZERO_RANDOMIZED = "RSABSSA-SHA384-PSSZERO-Randomized"
    PSS_DETERMINISTIC = "RSABSSA-SHA384-PSS-Deterministic"
    PSSZERO_DETERMINISTIC = "RSABSSA-SHA384-PSSZERO-Deterministic"

    @property
    def salt_len(self) -> int:
        return 0 if "PSSZERO" in self.value else _HASH_LEN

    @property
    def randomized(self) -> bool:
        return self.value.endswith("Randomized")

    @classmethod
    def parse(cls, name: str) -> Variant:
        for member in cls:
            if member.value == name:
                return member
        names = ", ".join(m.value for m in cls)
        raise InvalidBlindInput(f"unknown RSABSSA variant {name!r}; use one of {names}")


# -- integers and byte strings (RFC 8017 I2OSP / OS2IP) -------------------------------


def int_to_bytes(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def bytes_to_int(data: bytes) -> int:
    return int.from_bytes(data, "big")


# -- keys -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An RSA public key (n, e); what a wallet needs to blind and verify."""

    n: int
    e: int

    def __post_init__(self) -> None:
        if self.n.bit_length() < MIN_MODULUS_BITS or self.n % 2 == 0:
            raise InvalidBlindInput(
                f"an RSA modulus of {self.n.bit_length()} bits is not acceptable; "
                f"RFC 9474 keys have at least {MIN_MODULUS_BITS} bits"
            )
        if self.e < 3 or self.e % 2 == 0 or self.e >= self.n:
            raise InvalidBlindInput("the RSA public exponent must be odd and in 3..n-1")

    @property
    def modulus_len(self) -> int:
        return (self.n.bit_length() + 7) // 8

    @property
    def modulus_bits(self) -> int:
        return self.n.bit_length()

    def to_der(self) -> bytes:
        """SubjectPublicKeyInfo DER, the form wallets import."""
        from cryptography.hazmat.primitives import serialization

        return self._crypto_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_der(cls, der: bytes) -> PublicKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            key = serialization.load_der_public_key(bytes(der))
        except (ValueError, TypeError):
            raise InvalidBlindInput("the public key is not RSA SubjectPublicKeyInfo DER") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise InvalidBlindInput("the public key is not an RSA key")
        numbers = key.public_numbers()
        return cls(numbers.n, numbers.e)

    @property
    def _crypto_key(self):
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.RSAPublicNumbers(self.e, self.n).public_key()


class SecretKey:
    """The mint's RSA private key: public part in the clear, private part only in OpenSSL."""

    def __init__(self, private_key_der: bytes) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            key = serialization.load_der_private_key(bytes(private_key_der), password=None)
        except (ValueError, TypeError):
            raise MintKeyError("the mint key is not an unencrypted RSA private key in DER") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise MintKeyError("the mint key is not an RSA key")
        numbers = key.public_key().public_numbers()
        self.public_key = PublicKey(numbers.n, numbers.e)
        modulus_len = self.public_key.modulus_len
        self._operation = RsaOperation(private_key_der, modulus_len)
        # the check of every signature uses the public key alone, not the private key object
        self._verifier = RsaOperation(self.public_key.to_der(), modulus_len, public=True)

    def __repr__(self) -> str:
        return f"SecretKey({self.public_key.modulus_bits}-bit, e={self.public_key.e})"

    def __reduce__(self):
        raise TypeError("a mint secret key cannot be serialized")

    @staticmethod
    def generate_der(bits: int = 2048) -> bytes:
        """A fresh RSA key as PKCS#8 DER (e = 65537), for the keystore."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        if bits < MIN_MODULUS_BITS:
            raise MintKeyError(f"a mint key needs at least {MIN_MODULUS_BITS} bits, not {bits}")
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        return key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


# -- EMSA-PSS (RFC 8017 section 9.1) with MGF1-SHA384 ----------------------------------


def _mgf1(seed: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += _HASH(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def emsa_pss_encode(message: bytes, em_bits: int, salt: bytes) -> bytes:
    """EMSA-PSS-ENCODE(M, emBits) with the given salt."""
    em_len = (em_bits + 7) // 8
    m_hash = _HASH(message).digest()
    if em_len < _HASH_LEN + len(salt) + 2:
        raise InvalidBlindInput("the RSA modulus is too short for this salt length")
    m_prime = b"\x00" * 8 + m_hash + salt
    h = _HASH(m_prime).digest()
    db = b"\x00" * (em_len - len(salt) - _HASH_LEN - 2) + b"\x01" + salt
    masked = bytes(a ^ b for a, b in zip(db, _mgf1(h, em_len - _HASH_LEN - 1)))
    top_bits_clear = 0xFF >> (8 * em_len - em_bits)
    masked = bytes([masked[0] & top_bits_clear]) + masked[1:]
    return masked + h + b"\xbc"


# -- the protocol (RFC 9474 section 4) ---------------------------------------------------


def prepare(msg: bytes, variant: Variant, msg_prefix: bytes | None = None) -> bytes:
    """Section 4.1: the message actually signed (a random prefix for Randomized variants)."""
    if not variant.randomized:
        return bytes(msg)
    if msg_prefix is None:
        msg_prefix = secrets.token_bytes(MSG_PREFIX_LEN)
    if len(msg_prefix) != MSG_PREFIX_LEN:
        raise InvalidBlindInput(f"the message prefix must be {MSG_PREFIX_LEN} bytes")
    return bytes(msg_prefix) + bytes(msg)


@dataclass(frozen=True, slots=True)
class Blinded:
    """What ``blind`` returns: the message for the mint and the wallet's secret inverse."""

    blinded_msg: bytes
    inv: int

    def __repr__(self) -> str:  # the inverse unlinks the note from its issuance: never shown
        return f"Blinded({len(self.blinded_msg)} bytes)"


def blind(
    pk: PublicKey,
    prepared_msg: bytes,
    variant: Variant,
    *,
    salt: bytes | None = None,
    r: int | None = None,
) -> Blinded:
    """Section 4.2 Blind. ``salt`` and ``r`` are drawn fresh unless given (vectors give them)."""
    if salt is None:
        salt = secrets.token_bytes(variant.salt_len)
    if len(salt) != variant.salt_len:
        raise InvalidBlindInput(f"{variant.value} uses a {variant.salt_len}-byte salt")
    encoded_msg = emsa_pss_encode(prepared_msg, pk.modulus_bits - 1, salt)
    m = bytes_to_int(encoded_msg)
    if math.gcd(m, pk.n) != 1:
        raise InvalidBlindInput("the encoded message is not invertible modulo n; blind again")
    if r is None:
        r = _random_invertible(pk.n)
    elif not 0 < r < pk.n or math.gcd(r, pk.n) != 1:
        raise InvalidBlindInput("the blinding factor must be invertible modulo n")
    inv = pow(r, -1, pk.n)
    x = pow(r, pk.e, pk.n)  # RSAVP1(pk, r)
    z = (m * x) % pk.n
    return Blinded(int_to_bytes(z, pk.modulus_len), inv)


def _random_invertible(n: int) -> int:
    while True:
        r = secrets.randbelow(n - 1) + 1
        if math.gcd(r, n) == 1:
            return r


def representative(pk: PublicKey, data: bytes, what: str) -> int:
    """``data`` as an integer below n (RFC 8017 OS2IP plus RSASP1/RSAVP1's range check);
    ``what`` names it in the error ("a blinded message")."""
    if len(data) != pk.modulus_len:
        raise InvalidBlindInput(f"{what} must be {pk.modulus_len} bytes, got {len(data)}")
    value = bytes_to_int(data)
    if value >= pk.n:
        raise InvalidBlindInput(f"{what} is not below the key's modulus")
    return value


def blind_sign(sk: SecretKey, blinded_msg: bytes) -> bytes:
    """Section 4.3 BlindSign: RSASP1 in OpenSSL, then RSAVP1 checks it before release."""
    representative(sk.public_key, blinded_msg, "a blinded message")
    signature = sk._operation.apply(bytes(blinded_msg))
    # RSAVP1 by OpenSSL's public-exponent path, a computation apart from the CRT one it
    # checks (CPython's pow would cost as much as the signature itself); a faulty result
    # may not even be below n, which the public operation refuses: the same failure
    try:
        recovered = sk._verifier.apply_public(signature)
    except InvalidBlindInput:
        recovered = None
    if recovered != bytes(blinded_msg):
        raise SigningFailure("the blind signature did not verify; it was not released")
    return signature


def finalize(pk: PublicKey, prepared_msg: bytes, blind_sig: bytes, inv: int, variant: Variant) -> bytes:
    """Section 4.4 Finalize: unblind, then verify the result as RSASSA-PSS."""
    z = representative(pk, blind_sig, "a blind signature")
    sig = int_to_bytes((z * inv) % pk.n, pk.modulus_len)
    verify(pk, prepared_msg, sig, variant)
    return sig


def verify(pk: PublicKey, prepared_msg: bytes, sig: bytes, variant: Variant) -> None:
    """Section 4.5: RSASSA-PSS-VERIFY with SHA-384, MGF1-SHA-384 and the variant's salt."""
    from cryptography.exceptions import InvalidSignature as _Bad
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if len(sig) != pk.modulus_len:
        raise InvalidSignature(f"a signature must be {pk.modulus_len} bytes, got {len(sig)}")
    if bytes_to_int(sig) >= pk.n:
        raise InvalidSignature("the signature is not below the modulus")
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=variant.salt_len)
    try:
        pk._crypto_key.verify(bytes(sig), bytes(prepared_msg), pss, hashes.SHA384())
    except _Bad:
        raise InvalidSignature(f"the signature does not verify under this key ({variant.value})") from None
