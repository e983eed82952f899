"""The four bitcoin networks and the encodings that tell them apart."""

from __future__ import annotations

from dataclasses import dataclass

from embit.networks import NETWORKS

from .errors import UnknownNetwork

XPUB_VERSION_MAIN = bytes.fromhex("0488b21e")
XPUB_VERSION_TEST = bytes.fromhex("043587cf")


@dataclass(frozen=True)
class Network:
    """One bitcoin network: its name and how addresses and keys are encoded on it."""

    name: str  # "main", "test", "signet", "regtest" (Bitcoin Core's chain names)
    bech32_hrp: str
    p2pkh_prefix: int
    p2sh_prefix: int
    xpub_version: bytes
    coin_type: int  # BIP-44/48 coin type: 0 on main, 1 on every test network

    @property
    def embit(self) -> dict:
        """The matching ``embit.networks.NETWORKS`` entry."""
        return NETWORKS[self.name]

    @property
    def is_mainnet(self) -> bool:
        return self.name == "main"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def of(cls, network: Network | str) -> Network:
        """A Network as given, or looked up by name: callers may pass either."""
        return network if isinstance(network, Network) else cls.from_name(network)

    @classmethod
    def from_name(cls, name: str) -> Network:
        """Look a network up by Core's chain name or a common alias (``mainnet``, ``testnet``)."""
        try:
            return _BY_NAME[name.strip().lower()]
        except KeyError:
            raise UnknownNetwork(
                f"unknown network {name!r}", hint="use one of: main, test, signet, regtest"
            ) from None


MAIN = Network("main", "bc", 0x00, 0x05, XPUB_VERSION_MAIN, 0)
TEST = Network("test", "tb", 0x6F, 0xC4, XPUB_VERSION_TEST, 1)
SIGNET = Network("signet", "tb", 0x6F, 0xC4, XPUB_VERSION_TEST, 1)
REGTEST = Network("regtest", "bcrt", 0x6F, 0xC4, XPUB_VERSION_TEST, 1)

NETWORKS_BY_NAME: dict[str, Network] = {n.name: n for n in (MAIN, TEST, SIGNET, REGTEST)}
_BY_NAME = {
    **NETWORKS_BY_NAME,
    "mainnet": MAIN,
    "bitcoin": MAIN,
    "testnet": TEST,
    "testnet3": TEST,
}
