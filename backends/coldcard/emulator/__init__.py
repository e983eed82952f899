"""The device side of the Coldcard USB protocol, for tests and the demo rig.

Runs as its own process (``python -m backends.coldcard.emulator``) serving one device
on a UNIX datagram socket, so that ckcc-protocol's ``ColdcardDevice(sn=<socket path>)``
and the ``ckcc -c <socket path>`` command talk to it as to the official simulator.
A restart of the process is a power cycle.

Modules, one concern each:

- ``framing``: 64-byte reports, reassembly, resync, framing errors;
- ``crypto``: the ``ncry`` link (ECDH, AES-CTR streams, v3 tags);
- ``keys``: seed, master key, xfp, xpubs, path notation;
- ``state``: what persists in the state directory;
- ``device``: one device's volatile state and reply codes;
- ``commands``: the command set; ``approvals``: stories and keypresses;
- ``signing``: PSBT analysis (inputs, keys, wallet) and signing; ``outputs``: change,
  fee and the outputs' warnings; ``sighash``: sighash types and digests; ``psbt_paths``:
  key paths and zero XFPs; ``failures``: the texts of refused PSBTs; ``story``: the
  approval story;
- ``messages``: BIP-137 message signing;
- ``multisig``: the Coldcard multisig wallet file and enrolled wallets;
- ``hsm_mode``: HSM mode on top of ``backends.coldcard.hsm``;
- ``simcmds``: the simulator-only ``XKEY``/``EVAL``/``EXEC`` commands;
- ``server``: the socket and its naming rule; ``__main__``: the command line.
"""

from .device import Device
from .server import Server, check_socket_path, socket_path_for

__all__ = ["Device", "Server", "check_socket_path", "socket_path_for"]
