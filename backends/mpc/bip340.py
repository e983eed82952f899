"""BIP-340 Schnorr signatures: key generation, signing (any message length) and verification.

Verification is libsecp256k1's (through coincurve). Signing follows the BIP's algorithm
step by step so CertEq can sign ChillDKG's long transcripts.
"""

from __future__ import annotations

from coincurve import PublicKeyXOnly

from .errors import InvalidInputError
from .secp import ORDER, Scalar, lift_x, mul_g, point_sum, tagged_hash, xor_bytes
from .secp import P as FIELD_SIZE


def pubkey_gen(seckey: bytes) -> bytes:
    """The 32-byte x-only public key of a 32-byte secret key (BIP-340 PubKey)."""
    d = Scalar.from_bytes_nonzero_checked(seckey, "secret key")
    return mul_g(d).to_bytes_xonly()


def schnorr_sign(msg: bytes, seckey: bytes, aux_rand: bytes, tag_prefix: str = "BIP0340") -> bytes:
    """BIP-340 Sign(sk, m, a); ChillDKG's proofs of possession use their own tag prefix."""
    d0 = Scalar.from_bytes_nonzero_checked(seckey, "secret key")
    if len(aux_rand) != 32:
        raise InvalidInputError("aux_rand must be 32 bytes", check="aux_rand_length")
    P = mul_g(d0)
    d = d0 if P.has_even_y() else -d0
    t = xor_bytes(d.to_bytes(), tagged_hash(tag_prefix + "/aux", aux_rand))
    k0 = Scalar.from_bytes_wrapping(tagged_hash(tag_prefix + "/nonce", t + P.to_bytes_xonly() + msg))
    if not k0:
        raise InvalidInputError("nonce derivation gave zero", check="nonce_zero")  # negligible
    R = mul_g(k0)
    k = k0 if R.has_even_y() else -k0
    e = Scalar.from_bytes_wrapping(tagged_hash(tag_prefix + "/challenge", R.to_bytes_xonly() + P.to_bytes_xonly() + msg))
    sig = R.to_bytes_xonly() + (k + e * d).to_bytes()
    if not schnorr_verify(msg, P.to_bytes_xonly(), sig, tag_prefix):
        raise InvalidInputError("the created signature does not verify", check="sign_selfcheck")
    return sig


def schnorr_verify(msg: bytes, pubkey: bytes, sig: bytes, tag_prefix: str = "BIP0340") -> bool:
    """BIP-340 Verify(pk, m, sig): False for any invalid key, signature or length."""
    if len(pubkey) != 32 or len(sig) != 64:
        return False
    if tag_prefix != "BIP0340":
        return _verify_tagged(msg, pubkey, sig, tag_prefix)
    try:
        key = PublicKeyXOnly(bytes(pubkey))
    except ValueError:
        return False
    return key.verify(bytes(sig), bytes(msg))


def _verify_tagged(msg: bytes, pubkey: bytes, sig: bytes, tag_prefix: str) -> bool:
    # the BIP's Verify with another challenge tag (libsecp256k1 only knows BIP0340's)
    try:
        P = lift_x(pubkey)
    except InvalidInputError:
        return False
    r = int.from_bytes(sig[0:32], "big")
    s = int.from_bytes(sig[32:64], "big")
    if r >= FIELD_SIZE or s >= ORDER:
        return False
    e = Scalar.from_bytes_wrapping(tagged_hash(tag_prefix + "/challenge", sig[0:32] + pubkey + msg))
    R = point_sum([mul_g(Scalar(s)), -(e * P)])
    return not R.infinity and R.has_even_y() and R.to_bytes_xonly() == sig[0:32]
