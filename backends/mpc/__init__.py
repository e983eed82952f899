"""Threshold Schnorr for custody: ChillDKG key generation and BIP-445 FROST signing.

Owns: secp256k1 scalar/point/x-only types (``secp``), BIP-340 (``bip340``), BIP-445 signing
(``frost``), ChillDKG (``chilldkg``) and the group key's taproot output and address
(``taproot``). Pure Python over coincurve; no UI, no I/O. Every refusal is an
:class:`~backends.mpc.errors.MpcError` naming the check and the participant to blame.
"""
