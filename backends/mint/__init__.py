"""The mint behind a Chaumian e-cash service: blind issuance, notes, deposits, reserves.

- ``blindrsa``: RFC 9474 RSA blind signatures (all four RSABSSA-SHA384 variants);
- ``rsa_native``: the unpadded RSA private operation through OpenSSL 3;
- ``errors``: the mint's typed failures.

Pure Python; never imports textual or rich.
"""
