"""Networks and single-key address scripts: pkh, sh-wpkh, wpkh and tr (BIP-86 key path).

Encoding goes through embit's scripts; decoding returns what a verifier compares: the
script kind and its hash or witness program.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from embit import base58, bech32
from embit import script as scripts
from embit.ec import PublicKey
from embit.hashes import hash160
from embit.networks import NETWORKS

from backends.keystore.errors import InvalidAddress, UnsupportedNetwork, UnsupportedScript

NETWORK_NAMES = ("main", "test", "signet", "regtest")


class ScriptType(str, Enum):
    """Address scripts for one key, named as in output descriptors."""

    PKH = "pkh"
    SH_WPKH = "sh-wpkh"
    WPKH = "wpkh"
    TR = "tr"

    @classmethod
    def parse(cls, value: str | ScriptType) -> ScriptType:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(member.value for member in cls)
            raise UnsupportedScript(f"unknown address script {value!r}; use one of {names}") from None


def network_params(network: str) -> dict:
    if network not in NETWORK_NAMES:
        raise UnsupportedNetwork(
            f"unknown network {network!r}; use one of {', '.join(NETWORK_NAMES)}"
        )
    return NETWORKS[network]


def address_for(public_key: bytes, script: str | ScriptType, network: str) -> str:
    """The address paying to ``public_key`` (33-byte compressed SEC) with ``script``."""
    net = network_params(network)
    key = PublicKey.parse(public_key)
    kind = ScriptType.parse(script)
    if kind is ScriptType.PKH:
        return scripts.p2pkh(key).address(net)
    if kind is ScriptType.WPKH:
        return scripts.p2wpkh(key).address(net)
    if kind is ScriptType.SH_WPKH:
        return scripts.p2sh(scripts.p2wpkh(key)).address(net)
    return scripts.p2tr(key).address(net)


def decode_address(address: str, network: str) -> tuple[str, bytes]:
    """``(kind, payload)``: ("p2pkh"|"p2sh", hash160) or ("witness_v<N>", program)."""
    net = network_params(network)
    text = address.strip()
    hrp = net["bech32"]
    if text.lower().startswith(hrp + "1"):
        version, program = bech32.decode(hrp, text.lower())
        if version is None:
            raise InvalidAddress(f"{address!r} is not a valid {network} segwit address")
        return f"witness_v{version}", bytes(program)
    try:
        raw = base58.decode_check(text)
    except Exception:
        raise InvalidAddress(f"{address!r} is not a valid {network} address") from None
    if len(raw) == 21 and raw[:1] == net["p2pkh"]:
        return "p2pkh", raw[1:]
    if len(raw) == 21 and raw[:1] == net["p2sh"]:
        return "p2sh", raw[1:]
    raise InvalidAddress(f"{address!r} is not an address of network {network}")


def key_matches_address(public_key: bytes, address: str, network: str) -> bool:
    """Whether a single-key pkh, sh-wpkh or wpkh address pays to ``public_key``.

    ``public_key`` may be compressed or uncompressed; segwit accepts only compressed.
    """
    kind, payload = decode_address(address, network)
    key_hash = hash160(public_key)
    if kind == "p2pkh":
        return payload == key_hash
    if len(public_key) != 33:
        return False
    if kind == "witness_v0":
        return payload == key_hash
    if kind == "p2sh":
        return payload == hash160(b"\x00\x14" + key_hash)
    return False



@dataclass(frozen=True, slots=True)
class DerivedAddress:
    """An address derived from a stored key, with its public key and where it came from."""

    address: str
    public_key: bytes  # 33-byte compressed SEC; for tr, the BIP-86 internal key
    path: str
    script: ScriptType
    network: str

    @property
    def public_key_hex(self) -> str:
        return self.public_key.hex()
