"""The wallet layer: what custody wallets are made of, independent of any chain backend.

Owns, one module each:

- ``network``: the four networks (main, test, signet, regtest) and their encodings;
- ``descriptors``: ``wsh(sortedmulti(...))``, ``wpkh(...)``, both nested in ``sh(...)``, and
  key-path ``tr(...)`` descriptors with BIP-380 checksums, their scripts, addresses and key
  origins;
- ``addresses``: network-aware address parsing (a mainnet address on regtest is refused)
  and addresses of scripts;
- ``psbt``: BIP-174 version-0 PSBTs, strictly parsed and serialized;
- ``psbt_create``: Creator/Updater (UTXOs, witness scripts, BIP-32 origins, change info);
- ``psbt_finalize``: Combiner, signer checks, Input Finalizer, Transaction Extractor;
- ``coinselect``: coin selection policies (the mint's and the quorum's rules);
- ``fees``: weights, vsize, fees and dust thresholds per script type.

It holds no state and no secrets, and it does not sign: signers (Coldcards, the keystore)
do that. Every expected failure is a :class:`WalletError`.
"""

from .addresses import address_from_script, parse_address, script_type
from .coinselect import (
    Selection,
    SelectionPolicy,
    Utxo,
    mint_policy,
    quorum_policy,
    select_coins,
    spendable_coins,
)
from .descriptors import (
    CHANGE,
    RECEIVE,
    Descriptor,
    DerivedKey,
    KeyOrigin,
    descriptor_checksum,
    parse_descriptor,
)
from .errors import (
    AddressError,
    CannotFund,
    DescriptorChecksumError,
    DescriptorError,
    NetworkMismatch,
    PsbtBuildError,
    PsbtError,
    PsbtFormatError,
    PsbtIncomplete,
    PsbtMismatch,
    PsbtSignatureError,
    PsbtSignerCheckError,
    PsbtVersionError,
    UnknownNetwork,
    WalletError,
)
from .fees import (
    SH_WPKH,
    TR_KEYPATH,
    WPKH,
    ScriptKind,
    dust_threshold,
    estimate_vsize,
    fee_for,
    tx_weight,
    vsize,
    wsh_multisig,
)
from .network import MAIN, REGTEST, SIGNET, TEST, Network
from .psbt import Psbt, parse_psbt, serialize_psbt
from .psbt_create import Payment, create_psbt
from .psbt_finalize import check_signable, combine, extract, finalize

__all__ = [
    "AddressError",
    "CHANGE",
    "CannotFund",
    "DerivedKey",
    "Descriptor",
    "DescriptorChecksumError",
    "DescriptorError",
    "KeyOrigin",
    "MAIN",
    "Network",
    "NetworkMismatch",
    "Payment",
    "Psbt",
    "PsbtBuildError",
    "PsbtError",
    "PsbtFormatError",
    "PsbtIncomplete",
    "PsbtMismatch",
    "PsbtSignatureError",
    "PsbtSignerCheckError",
    "PsbtVersionError",
    "RECEIVE",
    "REGTEST",
    "SH_WPKH",
    "SIGNET",
    "ScriptKind",
    "Selection",
    "SelectionPolicy",
    "TEST",
    "TR_KEYPATH",
    "UnknownNetwork",
    "Utxo",
    "spendable_coins",
    "WPKH",
    "WalletError",
    "address_from_script",
    "check_signable",
    "combine",
    "create_psbt",
    "descriptor_checksum",
    "dust_threshold",
    "estimate_vsize",
    "extract",
    "fee_for",
    "finalize",
    "mint_policy",
    "parse_address",
    "parse_descriptor",
    "parse_psbt",
    "quorum_policy",
    "script_type",
    "select_coins",
    "serialize_psbt",
    "tx_weight",
    "vsize",
    "wsh_multisig",
]
