"""The demo rig's signer quorum: the three demo Coldcards armed with the demo policy.

``prepare`` (once the coldcards part has enrolled the wallet) copies the demo policy from
``assets/quorum-demo-policy.json`` into the data dir and writes the ``[quorum]`` section
into the rig's config file, exactly as an operator would for real Coldcards: the devices'
sockets as targets, their XFPs, the descriptor. ``start`` arms all three and keeps a
status poller running, so a power-cycled device is re-armed by auto-heal.

The demo policy: one rule for the ``demo-quorum`` wallet, at most 0.05 BTC a
transaction, 0.2 BTC an hour per device, and only to the demo sink, which is the first
receive address of the keystore's ``demo-treasury`` (the hot wallet the quorum refills).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from backends.fsutil import atomic_write

from .config import QuorumConfig, QuorumSignerConfig, render_toml
from .demo import Running, demo_address
from .paths import CONFIG_FILE_NAME, assets_dir
from .services import Services

POLICY_ASSET = "quorum-demo-policy.json"
POLICY_FILE = "quorum-policy.json"
#: where the demo's spends go: on the policy's whitelist, and its key is in the demo keystore
SINK_KEY = "demo-treasury"
CONFIG_HEADER = "# custody-tui demo rig: regtest, deterministic seeds, published passphrase.\n"


#: the coordinator-wide cap of the demo quorum: 0.3 BTC a day, counted from the chain
DEMO_GLOBAL_CAP_SAT = 30_000_000


def demo_sink() -> str:
    return demo_address(SINK_KEY)


def quorum_config(data_dir: Path, descriptor: str) -> QuorumConfig:
    """``[quorum]`` for the rig's devices and the wallet they enrolled."""
    from backends.wallet import parse_descriptor

    from .demo_coldcards import DEVICE_NAMES, WALLET_NAME, device_sockets

    sockets = device_sockets(data_dir)
    fingerprints = {k.origin.fingerprint.hex().upper() for k in parse_descriptor(descriptor, "regtest").keys}
    signers = [QuorumSignerConfig(name=name, target=str(sockets[name]), xfp=xfp)
               for name, xfp in zip(DEVICE_NAMES, _device_xfps(), strict=True)]
    assert {s.xfp for s in signers} == fingerprints, "the demo devices' seeds changed"
    return QuorumConfig(descriptor=descriptor, wallet_name=WALLET_NAME, policy_file=POLICY_FILE,
                        sign_timeout_seconds=20.0, poll_seconds=2.0, heal_cooldown_seconds=5.0, signers=signers,
                        global_cap_sat=DEMO_GLOBAL_CAP_SAT, global_period_minutes=24 * 60)


def _device_xfps() -> list[str]:
    """The demo devices' master fingerprints, from their published seeds."""
    from embit import bip32, bip39

    from .demo import demo_words
    from .demo_coldcards import DEVICE_NAMES

    return [bip32.HDKey.from_seed(bip39.mnemonic_to_seed(demo_words(f"coldcard-{name}"))).my_fingerprint.hex().upper()
            for name in DEVICE_NAMES]


def prepare_quorum(services: Services) -> None:
    """Write the demo policy and the ``[quorum]`` section, once."""
    from .demo_coldcards import read_descriptor

    data_dir = services.data_dir
    if services.config.quorum.configured:
        return
    descriptor = read_descriptor(data_dir)
    if descriptor is None:
        return  # the coldcards part did not finish; the next run completes it
    with services.audited("quorum", "configure", policy=POLICY_FILE, demo=True):
        atomic_write(data_dir / POLICY_FILE, (assets_dir() / POLICY_ASSET).read_bytes(), mode=0o644)
        config = dataclasses.replace(services.config, quorum=quorum_config(data_dir, descriptor))
        config.validate()
        atomic_write(data_dir / CONFIG_FILE_NAME, (CONFIG_HEADER + render_toml(config)).encode())
    services.config = config


class RunningQuorum(Running):
    """Arms the devices at start, then polls them (auto-heal) while the rig runs."""

    def __init__(self, services: Services) -> None:
        self.coordinator = None
        if not services.quorum_configured:
            return
        self.coordinator = services.quorum
        self.coordinator.arm()
        self.coordinator.start_polling(heal=True)

    def stop(self) -> None:
        if self.coordinator is not None:
            self.coordinator.stop_polling()
