"""BIP-340 Schnorr signatures: key generation, signing (any message length) and verification.

Verification is libsecp256k1's (through coincurve). Signing follows the BIP's algorithm
step by step so CertEq can sign ChillDKG's long transcripts.
"""

from __future__ import annotations

from coincurve import PublicKeyXOnly

from .errors import InvalidInputError
from .secp import Scalar, mul_g, tagged_hash, xor_bytes


def pubkey_gen(seckey: bytes) -> bytes:
    """The 32-byte x-only public key of a 32-byte secret key (BIP-340 PubKey)."""
    d = Scalar.from_bytes_nonzero_checked(seckey, "secret key")
    return mul_g(d).to_bytes_xonly()


def schnorr_sign(msg: bytes, seckey: bytes, aux_rand: bytes) -> bytes:
    """BIP-340 Sign(sk, m, a)."""
    d0 = Scalar.from_bytes_nonzero_checked(seckey, "secret key")
    if len(aux_rand) != 32:
        raise InvalidInputError("aux_rand must be 32 bytes", check="aux_rand_length")
    P = mul_g(d0)
    d = d0 if P.has_even_y() else -d0
    t = xor_bytes(d.to_bytes(), tagged_hash("BIP0340/aux", aux_rand))
    k0 = Scalar.from_bytes_wrapping(tagged_hash("BIP0340/nonce", t + P.to_bytes_xonly() + msg))
    if not k0:
        raise InvalidInputError("nonce derivation gave zero", check="nonce_zero")  # negligible
    R = mul_g(k0)
    k = k0 if R.has_even_y() else -k0
    e = Scalar.from_bytes_wrapping(tagged_hash("BIP0340/challenge", R.to_bytes_xonly() + P.to_bytes_xonly() + msg))
    sig = R.to_bytes_xonly() + (k + e * d).to_bytes()
    if not schnorr_verify(msg, P.to_bytes_xonly(), sig):
        raise InvalidInputError("the created signature does not verify", check="sign_selfcheck")
    return sig


def schnorr_verify(msg: bytes, pubkey: bytes, sig: bytes) -> bool:
    """BIP-340 Verify(pk, m, sig): False for any invalid key, signature or length."""
    if len(pubkey) != 32 or len(sig) != 64:
        return False
    try:
        key = PublicKeyXOnly(bytes(pubkey))
    except ValueError:
        return False
    return key.verify(bytes(sig), bytes(msg))
