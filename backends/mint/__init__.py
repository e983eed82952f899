"""The mint behind a Chaumian e-cash service: blind issuance, notes, deposits, redemptions.

- ``service``: :class:`Mint`, the one object screens, the CLI and the API use;
- ``ledger``: ``<data dir>/mint.sqlite3`` (WAL), every state change one transaction;
- ``blindrsa``: RFC 9474 RSA blind signatures (all four RSABSSA-SHA384 variants);
- ``rsa_native``: the unpadded RSA operations through OpenSSL 3;
- ``keysets``: denomination sets, a key per denomination, private keys in the keystore;
- ``deposits``: deposit addresses with claim secrets, registration by outpoint, credit at depth;
- ``issuance``: blind signatures drawn on credited deposits;
- ``notes``: notes and spending each exactly once;
- ``reserves``: inventory, accounting summary and health (read-only);
- ``spends``: payouts and consolidations recorded before broadcast, settled at restart;
- ``consolidation``: the dry-run plan of merging small coins, and its execution;
- ``pause``: payouts paused by an operator or automatically on critical health;
- ``events``: the events history, acknowledgements, silences and retention;
- ``metrics``: the mint's figures in Prometheus text format;
- ``attestation``: signed reserve attestations, verified offline naming an altered field;
- ``operators``: operator-signed admin requests (HMAC keys in the keystore, no replays);
- ``redemptions``: notes burned for payouts from the reserve, crash-safe settlement;
- ``quorum_payouts``: payouts signed by the Coldcard quorum, settled against its ledger;
- ``errors``: the mint's typed failures.

Pure Python; never imports textual or rich.
"""
