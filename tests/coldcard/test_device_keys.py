"""The emulated device's ECDSA signatures are the firmware's bytes (RFC 6979, low S, low R)."""

from __future__ import annotations

import hashlib
import struct

from embit.util import secp256k1

from backends.coldcard.emulator.keys import SIMULATOR_WORDS, DeviceKeys

PATH = [0x80000030, 0x80000001, 0x80000000, 0x80000002, 0, 0]


def _firmware_grind_sign(secret: bytes, digest: bytes) -> bytes:
    """``psbt.ecdsa_grind_sign`` over ``ngu.secp256k1.sign(pk, digest, n)``, with embit's binding."""
    counter = 0
    while True:
        extra = None if counter == 0 else struct.pack("<I", counter) + bytes(28)
        sig = secp256k1.ecdsa_sign(digest, secret, None, extra)
        compact = secp256k1.ecdsa_signature_serialize_compact(sig)
        if compact[0] < 0x80:
            return secp256k1.ecdsa_signature_serialize_der(sig)
        counter += 1


def test_psbt_signatures_are_ground_to_low_r_exactly_as_the_firmware_does():
    keys = DeviceKeys(SIMULATOR_WORDS, "XTN")
    secret = keys.node(PATH).key.secret
    high_r_seen = 0
    for i in range(24):
        digest = hashlib.sha256(b"digest %d" % i).digest()
        plain = secp256k1.ecdsa_signature_serialize_der(secp256k1.ecdsa_sign(digest, secret))
        high_r_seen += len(plain) > 71 or plain[3] > 32
        der = keys.sign_ecdsa_der(PATH, digest)
        assert der == _firmware_grind_sign(secret, digest)
        assert der[3] <= 32 and len(der) <= 71
    assert high_r_seen  # the sample did exercise the grinding
