"""The keys area: the encrypted keystore's entries (labels, types, fingerprints — never
secret material), unlock with a visible TTL, mnemonics, addresses and BIP-137 messages."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from backends.errors import CustodyError

from .base import AreaAction, AreaScreen
from .widgets import ConfirmTypedScreen, FormField, FormScreen, ResultScreen

SCRIPT_TYPES = ("wpkh", "sh-wpkh", "pkh", "tr")
#: BIP-44/49/84/86 purpose for each script type, for the suggested derivation path
PURPOSE = {"wpkh": 84, "sh-wpkh": 49, "pkh": 44, "tr": 86}


def _exists(services) -> bool:
    return services.keystore.exists()


NEEDS_UNLOCK = "unlock the keystore first (u)"


def _locked(services) -> bool:
    return services.keystore.exists() and not services.keystore.is_unlocked


def _unlocked(services) -> bool:
    return services.keystore.is_unlocked


def _not_initialised(services) -> bool:
    return not services.keystore.exists()


def format_ttl(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def word_columns(words: list[str]) -> str:
    """Numbered words in columns, top to bottom: 24 words fit an 80x24 terminal."""
    columns_wanted = 3 if len(words) > 12 else 2
    rows = max(1, -(-len(words) // columns_wanted))
    numbered = [f"{n:2d}. {word:<9}" for n, word in enumerate(words, 1)]
    columns = [numbered[start:start + rows] for start in range(0, len(numbered), rows)]
    return "\n".join("   ".join(col[r] for col in columns if r < len(col)).rstrip() for r in range(rows)
                     if any(r < len(col) for col in columns))


class KeysScreen(AreaScreen):
    AREA = "keys"
    TITLE = "Keys"
    ACTIONS = (
        AreaAction("i", "initialise", "initialise", "Create the keystore and set its passphrase",
                   _not_initialised, hide_when_unavailable=True),
        # unlock and lock take turns in the footer; rare and risky actions live in F1 and
        # the palette, so that every footer key fits 80 columns
        AreaAction("u", "unlock", "unlock", "Unlock the keystore for the configured TTL", _locked,
                   hide_when_unavailable=True),
        AreaAction("l", "lock", "lock", "Lock the keystore now and wipe keys from memory", _unlocked,
                   hide_when_unavailable=True),
        AreaAction("n", "create", "new mnemonic", "Create a BIP-39 mnemonic entry", _unlocked,
                   needs=NEEDS_UNLOCK, footer="New"),
        AreaAction("m", "import_mnemonic", "import mnemonic", "Import a BIP-39 mnemonic", _unlocked,
                   needs=NEEDS_UNLOCK, footer="Import"),
        AreaAction("a", "address", "derive address", "Derive an address of the selected entry",
                   _unlocked, needs=NEEDS_UNLOCK, footer="Address"),
        AreaAction("s", "sign", "sign message", "Sign a message (BIP-137) with the selected entry",
                   _unlocked, needs=NEEDS_UNLOCK, footer="Sign"),
        AreaAction("v", "verify", "verify message", "Verify a BIP-137 message signature",
                   show=False),
        AreaAction("R", "reveal", "reveal mnemonic", "Show the selected entry's words (typed "
                   "confirmation)", _unlocked, needs=NEEDS_UNLOCK, show=False),
        AreaAction("D", "delete", "delete entry", "Delete the selected entry (typed confirmation)",
                   _unlocked, needs=NEEDS_UNLOCK, show=False),
    )

    EXTRA_HELP = (("↑ ↓", "select the entry the actions apply to"),)

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="panel") as panel:
            panel.border_title = "Keystore"
            yield Static("", id="keys-lock")
            hint = self.services.keystore_passphrase_hint()
            if hint:
                yield Static(hint, id="keys-demo-hint", classes="demo-hint")
            table = DataTable(id="keys-table", cursor_type="row", zebra_stripes=True)
            for key, label in [("label", "label"), ("kind", "type"), ("fingerprint", "fingerprint"),
                               ("created", "created (UTC)")]:
                table.add_column(label, key=key)
            yield table

    def on_mount(self) -> None:
        self.set_interval(1.0, self.update_lock_line)
        self.refresh_state()

    # -- state ----------------------------------------------------------------------------

    def refresh_state(self) -> None:
        super().refresh_state()
        self.update_lock_line()
        if self.services.keystore.exists():
            self.run_backend(self.services.keystore.listing, done=self.show_listing,
                             description="Listing keystore entries", changes_state=False)

    def update_lock_line(self) -> None:
        keystore = self.services.keystore
        line = self.query_one("#keys-lock", Static)
        if not keystore.exists():
            line.update("keystore: [b]not initialised[/b] — press i to create it")
        elif keystore.is_unlocked:
            line.update(f"keystore: [b]unlocked[/b] — locks in {format_ttl(keystore.seconds_left())}"
                        " (l locks now)")
        else:
            line.update("keystore: [b]locked[/b] — press u to unlock")
            self.refresh_bindings()

    def show_listing(self, listing) -> None:
        self.show_entries(listing.entries)
        for problem in listing.unreadable:
            # named, never fatal: the other entries stay listed and usable
            self.notify(f"Unreadable entry skipped: {problem}", severity="error", timeout=15)

    def show_entries(self, entries: list) -> None:
        table = self.query_one("#keys-table", DataTable)
        # the selection survives a reload: the next action must hit the entry the operator picked
        selected = self.selected_label(quiet=True)
        table.clear()
        for entry in entries:
            table.add_row(entry.label, entry.kind.value, entry.fingerprint,
                          entry.created_at.strftime("%Y-%m-%d %H:%M"), key=entry.label)
        labels = [entry.label for entry in entries]
        if selected in labels:
            table.move_cursor(row=labels.index(selected), animate=False)

    def selected_label(self, *, quiet: bool = False) -> str | None:
        table = self.query_one("#keys-table", DataTable)
        if table.row_count == 0:
            if not quiet:
                self.notify("The keystore has no entries yet; create or import a mnemonic first.",
                            severity="warning")
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def default_path(self, script: str = "wpkh") -> str:
        coin = 0 if self.services.config.network == "main" else 1
        return f"m/{PURPOSE[script]}h/{coin}h/0h/0/0"

    # -- actions --------------------------------------------------------------------------

    def action_initialise(self) -> None:
        fields = [FormField("passphrase", "New keystore passphrase", password=True, keep=False),
                  FormField("again", "Repeat it", password=True, keep=False)]
        form = FormScreen("Initialise keystore", fields,
                          note=self.services.keystore_passphrase_hint() or "")

        def initialise(values: dict[str, str]) -> None:
            if values["passphrase"] != values["again"]:
                raise CustodyError("The two passphrases differ; nothing was created.")
            with self.services.audited("keys", "initialise"):
                self.services.keystore.initialize(values["passphrase"])

        self.submit_form(form, initialise, done=lambda _: self.notify("Keystore created."),
                         description="Creating the keystore")

    def action_unlock(self) -> None:
        ttl = self.services.config.keystore.unlock_ttl_seconds
        form = FormScreen("Unlock keystore",
                          [FormField("passphrase", "Passphrase", password=True, keep=False)],
                          note=self.services.keystore_passphrase_hint()
                          or f"Stays unlocked for {format_ttl(ttl)}.", submit="Unlock")

        def unlock(values: dict[str, str]) -> None:
            with self.services.audited("keys", "unlock", ttl_seconds=ttl):
                self.services.keystore.unlock(values["passphrase"], ttl)

        self.submit_form(form, unlock, description="Unlocking the keystore")

    def action_lock(self) -> None:
        def lock() -> None:
            with self.services.audited("keys", "lock"):
                self.services.keystore.lock()

        self.run_backend(lock, description="Locking the keystore")

    def action_create(self) -> None:
        fields = [FormField("label", "Label", placeholder="e.g. treasury-1"),
                  FormField("bip39_passphrase", "BIP-39 passphrase (optional)", password=True,
                            required=False),
                  FormField("words", "Words", choices=("24", "12"))]

        def create(values: dict[str, str]):
            with self.services.audited("keys", "create-mnemonic", label=values["label"],
                                       word_count=int(values["words"])) as result:
                info = self.services.keystore.create_mnemonic(
                    values["label"], words=int(values["words"]),
                    bip39_passphrase=values["bip39_passphrase"])
                result["fingerprint"] = info.fingerprint
            return info

        self.submit_form(FormScreen("New mnemonic", fields, submit="Create"), create,
                         done=lambda info: self.notify(
                             f"Created {info.label} ({info.fingerprint}). "
                             "Back up its words: select it, press R.", markup=False),
                         description="Creating a mnemonic")

    def action_import_mnemonic(self) -> None:
        fields = [FormField("label", "Label"),
                  FormField("mnemonic", "Mnemonic (12 or 24 words)", password=True),
                  FormField("bip39_passphrase", "BIP-39 passphrase (optional)", password=True,
                            required=False)]

        def import_words(values: dict[str, str]):
            with self.services.audited("keys", "import-mnemonic", label=values["label"]) as result:
                info = self.services.keystore.import_mnemonic(
                    values["label"], values["mnemonic"], bip39_passphrase=values["bip39_passphrase"])
                result["fingerprint"] = info.fingerprint
            return info

        self.submit_form(FormScreen("Import mnemonic", fields, submit="Import"), import_words,
                         done=lambda info: self.notify(
                             f"Imported {info.label} ({info.fingerprint}).", markup=False),
                         description="Importing a mnemonic")

    def action_address(self) -> None:
        label = self.selected_label()
        if label is None:
            return
        fields = [FormField("path", "Derivation path (empty: the standard first address)",
                            required=False),
                  FormField("script", "Script type", choices=SCRIPT_TYPES)]
        network = self.services.config.network

        def derive(values: dict[str, str]):
            script = values["script"]
            path = values["path"].strip() or self.default_path(script)
            with self.services.audited("keys", "derive-address", label=label, path=path,
                                       script=script) as result:
                derived = self.services.keystore.derive_address(label, path, network, script=script)
                result["address"] = derived.address
            return derived, path, script

        def show(outcome) -> None:
            derived, path, script = outcome
            self.app.push_screen(ResultScreen(
                f"Address — {label}", f"{derived.address}\n{path} ({script}, {network})",
                qr_payload=derived.address))

        self.submit_form(FormScreen(f"Derive address — {label}", fields, submit="Derive"), derive,
                         done=show, description="Deriving an address")

    def action_sign(self) -> None:
        label = self.selected_label()
        if label is None:
            return
        fields = [FormField("message", "Message"),
                  FormField("path", "Derivation path (empty: the standard first address)",
                            required=False),
                  FormField("script", "Address type", choices=("wpkh", "sh-wpkh", "pkh"))]
        network = self.services.config.network

        def sign(values: dict[str, str]):
            script = values["script"]
            path = values["path"].strip() or self.default_path(script)
            with self.services.audited("keys", "sign-message", label=label, path=path,
                                       message=values["message"]):
                address, signature = self.services.keystore.sign_message(
                    label, path, values["message"], network, script=script)
            return address, values["message"], signature

        def show(outcome) -> None:
            address, message, signature = outcome
            self.app.push_screen(ResultScreen(
                "Signed message", f"address:   {address}\nmessage:   {message}\nsignature: {signature}"))

        self.submit_form(FormScreen(f"Sign message — {label}", fields, submit="Sign"), sign,
                         done=show, description="Signing a message")

    def action_verify(self) -> None:
        fields = [FormField("address", "Address"), FormField("message", "Message"),
                  FormField("signature", "Signature (base64)")]
        network = self.services.config.network

        def verify(values: dict[str, str]):
            from backends.keystore import malformed_signature_reason, verify_message

            with self.services.audited("keys", "verify-message", address=values["address"]) as out:
                problem = malformed_signature_reason(values["signature"])
                if problem is not None:  # a mangled paste, not a signature by another key
                    raise CustodyError(problem, hint="paste the signature again, whole")
                valid = verify_message(values["address"], values["message"],
                                       values["signature"].strip(), network)
                out["valid"] = valid
            return valid, values["address"]

        def show(outcome) -> None:
            valid, address = outcome
            if valid:
                self.notify(f"Valid signature by {address}.", title="Verified", markup=False)
            else:
                self.notify("The signature does not match this address and message.",
                            title="Not verified", severity="error")

        self.submit_form(FormScreen("Verify message", fields, submit="Verify"), verify,
                         done=show, description="Verifying a message")

    def action_reveal(self) -> None:
        label = self.selected_label()
        if label is None:
            return
        warning = (f"The words of {label} will be shown on this screen. Anyone who sees them "
                   "controls the funds. Make sure nobody is watching and nothing records the "
                   "terminal.")
        self.app.push_screen(ConfirmTypedScreen("Reveal mnemonic", warning, label),
                             lambda ok: self._reveal(label) if ok else None)

    def _reveal(self, label: str) -> None:
        def reveal() -> str:
            with self.services.audited("keys", "reveal-mnemonic", irreversible=True, label=label):
                return self.services.keystore.reveal_mnemonic(label)

        def show(words: str) -> None:
            keystore = self.services.keystore
            self.app.push_screen(ResultScreen(
                f"Mnemonic — {label}", word_columns(words.split()),
                shown_while=lambda: keystore.is_unlocked,
                hidden_because=f"The words of {label} were hidden: the keystore locked."))

        self.run_backend(reveal, done=show, description="Revealing a mnemonic")

    def action_delete(self) -> None:
        label = self.selected_label()
        if label is None:
            return
        warning = (f"Deleting {label} removes its encrypted file. Without a backup of its words "
                   "the keys are gone.")
        self.app.push_screen(ConfirmTypedScreen("Delete entry", warning, label),
                             lambda ok: self._delete(label) if ok else None)

    def _delete(self, label: str) -> None:
        def delete() -> None:
            with self.services.audited("keys", "delete", irreversible=True, label=label):
                self.services.keystore.delete(label)

        self.run_backend(delete, done=lambda _: self.notify(f"Deleted {label}."),
                         description="Deleting an entry")
