"""``custody-tui keys ...``: the keystore from the command line.

Every command that needs secret material unlocks the keystore for that one command and
locks it again; a process that exits holds no key.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from backends.keystore import malformed_signature_reason, verify_message

from ..services import Services
from .common import UsageError, add_json_flag, emit, keystore_passphrase, read_secret_line

SCRIPTS = ("wpkh", "sh-wpkh", "pkh", "tr")
PURPOSE = {"wpkh": 84, "sh-wpkh": 49, "pkh": 44, "tr": 86}


def register(subparsers) -> None:
    keys = subparsers.add_parser("keys", help="the encrypted keystore: mnemonics, secrets, messages")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("list", help="list entries: labels, types, fingerprints (no secrets)")
    add_json_flag(p)

    actions.add_parser("init", help="create the keystore and set its passphrase")
    actions.add_parser("passphrase", help="change the keystore passphrase (re-encrypts every entry; "
                                          "an interrupted change is finished by running it again)")

    p = actions.add_parser("create", help="create a BIP-39 mnemonic entry")
    p.add_argument("label")
    p.add_argument("--words", type=int, choices=(12, 24), default=24)
    p.add_argument("--bip39-passphrase", action="store_true",
                   help="prompt for a BIP-39 passphrase (the 25th word)")
    add_json_flag(p)

    p = actions.add_parser("import", help="import a mnemonic (typed at a hidden prompt or piped)")
    p.add_argument("label")
    p.add_argument("--bip39-passphrase", action="store_true",
                   help="prompt for a BIP-39 passphrase (the 25th word)")
    add_json_flag(p)

    p = actions.add_parser("xpub", help="the extended public key of an entry at a path")
    p.add_argument("label")
    p.add_argument("path", help="e.g. m/48h/1h/0h/2h")
    add_json_flag(p)

    p = actions.add_parser("address", help="derive an address of an entry")
    p.add_argument("label")
    p.add_argument("path", nargs="?", help="derivation path (default: first receive address)")
    p.add_argument("--script", choices=SCRIPTS, default="wpkh")
    add_json_flag(p)

    p = actions.add_parser("sign", help="sign a message (BIP-137)")
    p.add_argument("label")
    p.add_argument("message")
    p.add_argument("--path", help="derivation path (default: first receive address)")
    p.add_argument("--script", choices=SCRIPTS[:3], default="wpkh")
    add_json_flag(p)

    p = actions.add_parser("verify", help="verify a BIP-137 message signature")
    p.add_argument("address")
    p.add_argument("message")
    p.add_argument("signature", help="base64 signature")
    add_json_flag(p)

    p = actions.add_parser("reveal", help="print an entry's mnemonic (asks you to type the label)")
    p.add_argument("label")

    p = actions.add_parser("delete", help="delete an entry (asks you to type the label)")
    p.add_argument("label")


@contextmanager
def unlocked(services: Services):
    keystore = services.keystore
    passphrase = keystore_passphrase(services)
    ttl = services.config.keystore.unlock_ttl_seconds
    with services.audited("keys", "unlock", ttl_seconds=ttl, via="cli"):
        keystore.unlock(passphrase, ttl)
    try:
        yield keystore
    finally:
        keystore.lock()


def default_path(services: Services, script: str) -> str:
    coin = 0 if services.config.network == "main" else 1
    return f"m/{PURPOSE[script]}h/{coin}h/0h/0/0"


def confirm_label(label: str, what: str) -> None:
    if not sys.stdin.isatty():
        raise UsageError(f"{what} needs a typed confirmation in a terminal")
    typed = input(f"Type the label {label!r} to {what}: ")
    if typed != label:
        raise UsageError("confirmation did not match; nothing was done")


def verify_signature(args, services: Services, area: str) -> int:
    """``ADDRESS MESSAGE SIGNATURE`` checked by BIP-137 and audited in ``area``; exit 0/1."""
    with services.audited(area, "verify-message", address=args.address) as result:
        valid = verify_message(args.address, args.message, args.signature, services.config.network)
        result["valid"] = valid
    problem = None if valid else malformed_signature_reason(args.signature)
    emit(args, {"valid": valid, **({"problem": problem} if problem else {})},
         "valid" if valid else "INVALID" + (f" ({problem})" if problem else ""))
    return 0 if valid else 1


def run(args, services: Services) -> int:
    keystore = services.keystore
    network = services.config.network
    action = args.action

    if action == "list":
        listing = keystore.listing()
        entries = listing.entries
        rows = [e.to_public_dict() for e in entries]
        text = "\n".join(f"{e.label:<24} {e.kind.value:<10} {e.fingerprint}" for e in entries)
        emit(args, rows, text or "(no entries)")
        for problem in listing.unreadable:
            print(f"warning: {problem}", file=sys.stderr)
        if listing.unreadable:
            return 1
    elif action == "init":
        passphrase = read_secret_line("New keystore passphrase: ")
        if sys.stdin.isatty() and read_secret_line("Repeat it: ") != passphrase:
            raise UsageError("the two passphrases differ; nothing was created")
        with services.audited("keys", "initialise"):
            keystore.initialize(passphrase)
        print(f"keystore created in {services.data_dir / 'keystore'}")
    elif action == "passphrase":
        old = keystore_passphrase(services, "Current keystore passphrase: ")
        new = read_secret_line("New keystore passphrase: ")
        if sys.stdin.isatty() and read_secret_line("Repeat it: ") != new:
            raise UsageError("the two new passphrases differ; nothing was changed")
        with services.audited("keys", "change-passphrase"):
            keystore.change_passphrase(old, new)
        print(f"keystore passphrase changed; every entry in {services.data_dir / 'keystore'} "
              "is now sealed under it")
    elif action in ("create", "import"):
        bip39_passphrase = (read_secret_line("BIP-39 passphrase: ")
                            if args.bip39_passphrase else "")
        words = read_secret_line("Mnemonic: ") if action == "import" else None
        with unlocked(services), services.audited(
            "keys", f"{action}-mnemonic", label=args.label,
            **({"word_count": args.words} if action == "create" else {}),
        ) as result:
            if words is None:
                info = keystore.create_mnemonic(args.label, words=args.words,
                                                bip39_passphrase=bip39_passphrase)
            else:
                info = keystore.import_mnemonic(args.label, words,
                                                bip39_passphrase=bip39_passphrase)
            result["fingerprint"] = info.fingerprint
        emit(args, info.to_public_dict(), f"{info.label}: fingerprint {info.fingerprint}")
    elif action == "xpub":
        with unlocked(services), services.audited("keys", "xpub", label=args.label, path=args.path):
            xpub = keystore.xpub(args.label, args.path, network)
        emit(args, {"label": args.label, "path": args.path, "xpub": xpub}, xpub)
    elif action == "address":
        path = args.path or default_path(services, args.script)
        with unlocked(services), services.audited(
            "keys", "derive-address", label=args.label, path=path, script=args.script
        ) as result:
            derived = keystore.derive_address(args.label, path, network, script=args.script)
            result["address"] = derived.address
        emit(args, {"label": args.label, "path": path, "script": args.script,
                    "address": derived.address}, derived.address)
    elif action == "sign":
        path = args.path or default_path(services, args.script)
        with unlocked(services), services.audited(
            "keys", "sign-message", label=args.label, path=path, message=args.message
        ):
            address, signature = keystore.sign_message(args.label, path, args.message, network,
                                                       script=args.script)
        emit(args, {"address": address, "message": args.message, "signature": signature},
             f"address:   {address}\nsignature: {signature}")
    elif action == "verify":
        return verify_signature(args, services, "keys")
    elif action == "reveal":
        confirm_label(args.label, "reveal its words")
        with unlocked(services), services.audited("keys", "reveal-mnemonic", irreversible=True,
                                                  label=args.label):
            words = keystore.reveal_mnemonic(args.label)
        print(words)
    elif action == "delete":
        confirm_label(args.label, "delete it")
        with unlocked(services), services.audited("keys", "delete", irreversible=True,
                                                  label=args.label):
            keystore.delete(args.label)
        print(f"deleted {args.label}")
    return 0
