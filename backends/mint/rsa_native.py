"""The RSA private operation (RSASP1) through OpenSSL 3, without padding.

Why this route: a blind signature is the raw private operation on a value the mint cannot
read, so no padding may be added. ``cryptography`` offers RSA private operations only with
PSS, PKCS#1 v1.5 or OAEP padding, and CPython's ``pow`` (even with CRT) is about 15x slower
than OpenSSL (research/baselines.md, item 4). OpenSSL's EVP API does offer the unpadded
operation (``EVP_PKEY_sign`` with ``RSA_NO_PADDING`` on a full-length input), with its own
CRT, constant-time Montgomery code and RSA blinding against timing attacks. We bind the
handful of EVP calls with ``ctypes`` to the very libcrypto CPython's ``ssl``/``hashlib``
already load, so no new dependency and no second copy of OpenSSL enters the process.

The caller (``blindrsa.blind_sign``) still verifies every result with the public key
before releasing it, as RFC 9474 section 4.3 requires.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import weakref
from functools import lru_cache
from pathlib import Path

from .errors import InvalidBlindInput, MintKeyError, NativeCryptoUnavailable

_RSA_NO_PADDING = 3
_OPENSSL_3 = 0x30000000


def _loaded_libcrypto_path() -> str | None:
    """The libcrypto that CPython's ``_hashlib`` linked, as mapped in this process (Linux)."""
    try:
        import _hashlib  # noqa: F401  (maps libcrypto into the process)
    except ImportError:
        return None
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return None
    for line in maps.read_text().splitlines():
        path = line.split()[-1] if line.split() else ""
        if "/libcrypto" in path:
            return path
    return None


@lru_cache(maxsize=1)
def _libcrypto() -> ctypes.CDLL:
    path = _loaded_libcrypto_path() or ctypes.util.find_library("crypto")
    if path is None:
        raise NativeCryptoUnavailable(
            "OpenSSL's libcrypto was not found; blind signing needs it",
            hint="install OpenSSL 3 (the library CPython's ssl module uses)",
        )
    try:
        lib = ctypes.CDLL(path)
        lib.OpenSSL_version_num.restype = ctypes.c_ulong
        version = lib.OpenSSL_version_num()
    except (OSError, AttributeError) as exc:
        raise NativeCryptoUnavailable(f"cannot load OpenSSL from {path}: {exc}") from None
    if version < _OPENSSL_3:
        raise NativeCryptoUnavailable(
            f"OpenSSL at {path} is version {version:#x}; blind signing needs OpenSSL 3",
            hint="run custody-tui with a Python built against OpenSSL 3",
        )
    _declare(lib)
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    vp, c_int, c_size = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    lib.d2i_AutoPrivateKey.restype = vp
    lib.d2i_AutoPrivateKey.argtypes = [vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]
    lib.d2i_PUBKEY.restype = vp
    lib.d2i_PUBKEY.argtypes = lib.d2i_AutoPrivateKey.argtypes
    lib.EVP_PKEY_free.argtypes = [vp]
    lib.EVP_PKEY_CTX_new.restype = vp
    lib.EVP_PKEY_CTX_new.argtypes = [vp, vp]
    lib.EVP_PKEY_CTX_free.argtypes = [vp]
    lib.EVP_PKEY_sign_init.argtypes = [vp]
    lib.EVP_PKEY_sign_init.restype = c_int
    lib.EVP_PKEY_CTX_set_rsa_padding.argtypes = [vp, c_int]
    lib.EVP_PKEY_CTX_set_rsa_padding.restype = c_int
    lib.EVP_PKEY_sign.argtypes = [vp, ctypes.c_char_p, ctypes.POINTER(c_size), ctypes.c_char_p, c_size]
    lib.EVP_PKEY_sign.restype = c_int
    lib.EVP_PKEY_verify_recover_init.argtypes = [vp]
    lib.EVP_PKEY_verify_recover_init.restype = c_int
    lib.EVP_PKEY_verify_recover.argtypes = lib.EVP_PKEY_sign.argtypes
    lib.EVP_PKEY_verify_recover.restype = c_int
    lib.ERR_clear_error.argtypes = []


class RsaOperation:
    """An RSA key held by OpenSSL: ``m^d mod n`` (private key) or ``s^e mod n``, unpadded.

    Built from the key's DER: PKCS#8 or PKCS#1 for a private key, SubjectPublicKeyInfo
    with ``public=True``. The DER is not kept; OpenSSL frees its copy of the key when this
    object is collected. Safe to use from several threads: every call gets its own
    EVP_PKEY_CTX.
    """

    __slots__ = ("_pkey", "_modulus_len", "__weakref__")

    def __init__(self, key_der: bytes, modulus_len: int, *, public: bool = False) -> None:
        lib = _libcrypto()
        buffer = ctypes.c_char_p(bytes(key_der))
        parse = lib.d2i_PUBKEY if public else lib.d2i_AutoPrivateKey
        pkey = parse(None, ctypes.byref(buffer), len(key_der))
        if not pkey:
            lib.ERR_clear_error()
            raise MintKeyError(f"OpenSSL cannot read the mint's RSA {'public' if public else 'private'} key")
        self._pkey = pkey
        self._modulus_len = modulus_len
        weakref.finalize(self, lib.EVP_PKEY_free, pkey)

    def __repr__(self) -> str:
        return f"RsaOperation({8 * self._modulus_len}-bit)"

    def __reduce__(self):  # a key held by OpenSSL is never pickled
        raise TypeError("an RSA private operation cannot be serialized")

    def apply(self, message: bytes) -> bytes:
        """RSASP1 on ``message`` (exactly modulus_len bytes, its value below n); private keys."""
        return self._run(message, public=False)

    def apply_public(self, signature: bytes) -> bytes:
        """RSAVP1 (``s^e mod n``): checks a private result at OpenSSL speed."""
        return self._run(signature, public=True)

    def _run(self, data: bytes, *, public: bool) -> bytes:
        if len(data) != self._modulus_len:
            raise InvalidBlindInput(f"expected {self._modulus_len} bytes, got {len(data)}")
        lib = _libcrypto()
        init, operate = (
            (lib.EVP_PKEY_verify_recover_init, lib.EVP_PKEY_verify_recover)
            if public
            else (lib.EVP_PKEY_sign_init, lib.EVP_PKEY_sign)
        )
        ctx = lib.EVP_PKEY_CTX_new(self._pkey, None)
        if not ctx:
            raise MintKeyError("OpenSSL cannot start an RSA operation (out of memory?)")
        try:
            out = ctypes.create_string_buffer(self._modulus_len)
            out_len = ctypes.c_size_t(self._modulus_len)
            ok = (
                init(ctx) == 1
                and lib.EVP_PKEY_CTX_set_rsa_padding(ctx, _RSA_NO_PADDING) == 1
                and operate(ctx, out, ctypes.byref(out_len), data, len(data)) == 1
            )
            if not ok:
                lib.ERR_clear_error()
                raise InvalidBlindInput("OpenSSL refused the value (it must be below the modulus)")
            # OpenSSL may drop leading zero bytes of a public result; put them back
            return out.raw[: out_len.value].rjust(self._modulus_len, b"\x00")
        finally:
            lib.EVP_PKEY_CTX_free(ctx)


def native_available() -> bool:
    """Whether the native private operation can be used on this machine."""
    try:
        _libcrypto()
    except NativeCryptoUnavailable:
        return False
    return True

