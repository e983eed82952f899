"""Coldcard signers: the client the app uses and the device emulator the tests and demo use.

- ``client``: every device operation the app needs (version, xpubs, multisig enrolment,
  HSM policy and users, PSBT and message signing, logout/reboot), spoken only through
  ckcc-protocol's ``ColdcardDevice`` to a USB serial or a simulator socket path, with one
  lock per device and a fresh connection per operation;
- ``errors``: the typed failures of the client, each keeping the device's own words;
- ``emulator``: the device side of the same USB protocol, served on a UNIX datagram socket
  so that the real ckcc client and ``ckcc`` command talk to it as to the official simulator;
- ``hsm``: the HSM policy engine (policy model, rule evaluation, velocity, users).
"""
