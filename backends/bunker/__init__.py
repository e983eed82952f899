"""The bunker: a NIP-46 remote signer holding nostr keys for devices (ATMs).

This package owns NIP-01 events and BIP-340 signing (``nostr``), NIP-44 v2 (``nip44``),
device tokens and their permissions in SQLite (``tokens``, ``permissions``), the
``bunker://`` URL (``url``), the NIP-46 request handling (``signer``), the kind-24134 admin
RPC (``admin``), the relay connection (``relay``) and the service that ties them together
(``service``). Signing keys come from the keystore (``nostr`` entries); a token never
holds a key, only the label of one. Pure Python; never imports textual or rich.
"""
