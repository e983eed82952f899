"""The HSM policy: what each signer has armed against the intended (last pushed) policy,
the tier editor validated as you type, the diff before a push, a push with each device's
progress, the versions, authorising a destination and enrolling the surge tier's TOTP
owner with a QR code. Every call goes to ``backends.policy`` in a worker."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from backends.errors import CustodyError

from .base import AreaAction, OperationScreen, error_text, unconfigured_panel
from .widgets import FormField, FormScreen, ResultScreen

NEEDS_CONFIG = "configure [quorum] first (README: Signer quorum)"


def _configured(services) -> bool:
    return services.quorum_configured


def _enrol_ready(services) -> bool:
    return services.quorum_configured and services.keystore.is_unlocked


class PolicyScreen(OperationScreen):
    AREA = "policy"
    TITLE = "Policy"
    ACTIONS = (
        AreaAction("e", "edit", "edit tiers", "Edit both tiers and the whitelist (checked as you type), "
                   "see the diff, push", _configured, needs=NEEDS_CONFIG, footer="Edit"),
        AreaAction("f", "push_file", "push file", "Diff a policy file against the signers, then push it",
                   _configured, needs=NEEDS_CONFIG, footer="File"),
        AreaAction("w", "authorize", "authorise destination", "Add an address to every signer's whitelist "
                   "(a push; who and why are kept)", _configured, needs=NEEDS_CONFIG, footer="Allow"),
        AreaAction("t", "totp", "enrol TOTP owner", "Create the surge tier's TOTP user on every signer; QR "
                   "for the authenticator", _enrol_ready,
                   needs="configure [quorum] and unlock the keystore (Keys, 7) first", footer="TOTP"),
        AreaAction("h", "history", "history", "Every version pushed: number, hash, who, when, why",
                   _configured, needs=NEEDS_CONFIG, footer="History"),
        AreaAction("r", "reload", "reload", "Read every signer's armed policy now", _configured,
                   needs=NEEDS_CONFIG, show=False),
    )
    OPERATIONS = ("edit", "push_file", "authorize", "totp")
    LOG_NAME = "the push log"

    def __init__(self) -> None:
        super().__init__()
        self.view: Any = None

    def compose_body(self) -> ComposeResult:
        if not self.services.quorum_configured:
            yield from unconfigured_panel(
                self.TITLE, "No signer quorum is configured.",
                "The policy is the one the quorum's Coldcards run: configure [quorum] first "
                "(README: Signer quorum), or run `custody-tui demo`.",
                "policy-unconfigured")
            return
        with Vertical(id="policy-top") as top:
            top.border_title = "Intended policy"
            yield Static("reading signers…", id="policy-intended")
        with Vertical(id="policy-signers-panel") as panel:
            panel.border_title = "Armed on each signer"
            yield Static("", id="policy-signers")
        log = RichLog(id="policy-log", wrap=True, markup=False, highlight=False, max_lines=500)
        log.border_title = "Push log"
        yield log

    # -- state ----------------------------------------------------------------------------

    def refresh_state(self) -> None:
        super().refresh_state()
        if self.services.quorum_configured:
            self.run_backend(self.read_view, done=self.show_view, description="Reading the policy",
                             changes_state=False, refused=self.show_unavailable)

    def read_view(self):
        from backends.policy import policy_overview

        return policy_overview(self.services.quorum, self.services.policy_history)

    def show_view(self, view) -> None:
        from .policy_parts import signer_lines, tier_lines

        self.view = view
        self.query_one("#policy-intended", Static).update(tier_lines(view))
        self.query_one("#policy-signers", Static).update(signer_lines(view.signers))
        self.app.poll_status()  # the status line says the health just read, not at its next poll

    def show_unavailable(self, exc: CustodyError) -> None:
        self.query_one("#policy-intended", Static).update(Text(f"policy unavailable: {error_text(exc)}", style="red"))

    def log_line(self, line: Text | str) -> None:
        self.query_one("#policy-log", RichLog).write(line)

    def operation_started(self, what: str, title: str) -> None:
        self.log_line(Text(f"— {title or what}", style="bold"))

    def device_event(self, event: Any) -> None:
        """From a worker thread: one device's progress or outcome, onto the push log."""
        from backends.policy import SignerOutcome

        if isinstance(event, SignerOutcome):
            style = "green" if event.reached or event.outcome == "enrolled" else "red"
            line = Text(f"{'✓' if style == 'green' else '✗'} {event.text()}", style=style)
        else:
            line = Text(f"· {event.signer}: {event.text}")
        self.app.call_from_thread(self.log_line, line)

    # -- edit, diff, push -----------------------------------------------------------------

    def _check(self, document: dict) -> str:
        from backends.policy import check_policy, policy_hash

        spec = self.services.quorum.spec
        check_policy(document, network=spec.network, wallets=[spec.wallet_name])
        return policy_hash(document)

    def action_edit(self) -> None:
        from backends.policy import FORM_FIELDS, FORM_FLAGS, from_form, to_form

        from .policy_parts import TierEditor

        if self.view is None:
            self.notify("Reading the policy; try again in a moment.", severity="warning")
            return
        tiers = self.view.tiers
        if tiers is None:
            self.notify(f"{self.view.not_two_tier}. Push it as a file (f).", title="Not two tiers",
                        severity="warning", markup=False)
            return
        editor = TierEditor(to_form(tiers), FORM_FIELDS, FORM_FLAGS, lambda form: from_form(form, tiers),
                            self._check)
        self.app.push_screen(editor, lambda document: self.diff_then_push(document) if document else None)

    def action_push_file(self) -> None:
        form = FormScreen("Push a policy file", [FormField("path", "HSM policy JSON file")], submit="Diff",
                          note="Validated as a Coldcard would, then shown against the signers before "
                               "anything is sent.")

        def read(values: dict[str, str]) -> dict:
            from pathlib import Path

            from backends.policy import parse_policy, read_policy_file

            spec = self.services.quorum.spec
            path = Path(values["path"].strip()).expanduser()
            with self.services.audited("policy", "validate", file=str(path)):
                return parse_policy(read_policy_file(path), network=spec.network, wallets=[spec.wallet_name])

        self.submit_form(form, read, done=self.diff_then_push, description="Reading the file",
                         changes_state=False)

    def diff_then_push(self, document: dict, *, reason: str = "") -> None:
        from .policy_parts import DiffScreen

        def diff():
            from backends.policy import diff_proposed

            with self.services.audited("policy", "diff") as result:
                found = diff_proposed(self.services.quorum, self.services.policy_history, document)
                result.update(hash=found.hash, changes=len(found.changes))
            return found

        def confirm(found) -> None:
            self.app.push_screen(DiffScreen("Push this policy?", found),
                                 lambda push: self.push(document, found.hash, reason) if push else None)

        self.run_backend(diff, done=confirm, description="Diff", changes_state=False)

    def push(self, document: dict, policy_hash: str, reason: str) -> None:
        from backends.policy import push_policy

        services = self.services

        def call():
            with services.audited("policy", "push", irreversible=True, hash=policy_hash, reason=reason) as result:
                pushed = push_policy(services.quorum, services.policy_history, document, actor=services.actor,
                                     reason=reason, on_event=self.device_event)
                result.update(version=pushed.version.number, reached=list(pushed.version.reached),
                              stale=pushed.stale)
            return pushed

        self.operate(f"push {policy_hash[:16]}…", call, self.pushed)

    def pushed(self, result) -> None:
        number = result.version.number
        if result.stale:
            self.log_line(Text(f"version {number}: stale, not counted live: {', '.join(result.stale)}",
                               style="bold yellow"))
            self.notify(f"Version {number} pushed; stale: {', '.join(result.stale)} (power-cycle them; "
                        "auto-heal arms them)", title="Pushed, not everywhere", severity="warning", markup=False)
        else:
            self.log_line(Text(f"✓ version {number} runs on every enabled signer", style="bold green"))
            self.notify(f"Version {number} runs on every enabled signer.", title="Pushed", markup=False)

    # -- authorise a destination ------------------------------------------------------------

    def action_authorize(self) -> None:
        form = FormScreen("Authorise a destination",
                          [FormField("address", "Address (added to every whitelisted rule)"),
                           FormField("reason", "Why (kept with the version and audited)")], submit="Push",
                          note="A push: each signer outside HSM mode is re-armed; one still in HSM mode "
                               "is stale until power-cycled.")

        def submitted(values: dict[str, str] | None) -> None:
            if values is None:
                return
            services = self.services

            def call():
                from backends.policy import authorize_destination

                address, reason = values["address"].strip(), values["reason"].strip()
                with services.audited("policy", "authorize", irreversible=True, address=address,
                                      reason=reason) as result:
                    pushed = authorize_destination(services.quorum, services.policy_history, address,
                                                   actor=services.actor, reason=reason, on_event=self.device_event)
                    result.update(version=pushed.version.number, hash=pushed.version.hash, stale=pushed.stale)
                return pushed

            self.operate(f"authorise {values['address'].strip()}", call, self.pushed)

        self.app.push_screen(form, submitted)

    # -- TOTP enrolment -----------------------------------------------------------------------

    def action_totp(self) -> None:
        form = FormScreen("Enrol the surge tier's TOTP owner",
                          [FormField("user", "User name (2 to 16 characters)", placeholder="owner"),
                           FormField("show_secret", "Also show the base32 secret (once)", choices=("no", "yes"))],
                          submit="Enrol",
                          note="Every enabled signer must be reachable and out of HSM mode. Enrol first, "
                               "then push a policy whose surge rule names the user.")

        def submitted(values: dict[str, str] | None) -> None:
            if values is None:
                return
            services = self.services
            user, reveal = values["user"].strip(), values["show_secret"] == "yes"

            def call():
                from backends.policy import enroll_totp

                coordinator = services.quorum
                with services.audited("policy", "totp-enroll", user=user) as result:
                    enrolment = enroll_totp(coordinator, services.keystore, user, on_event=self.device_event,
                                            issuer=f"custody-tui {coordinator.spec.wallet_name}")
                    result.update(signers=list(enrolment.signers), keystore_label=enrolment.keystore_label,
                                  base32_shown=reveal)
                return enrolment

            self.operate(f"enrol {user}", call, lambda enrolment: self.enrolled(enrolment, reveal))

        self.app.push_screen(form, submitted)

    def enrolled(self, enrolment, reveal: bool) -> None:
        self.log_line(Text(f"✓ {enrolment.username} enrolled on {', '.join(enrolment.signers)}", style="bold green"))
        text = (f"{enrolment.username} on {', '.join(enrolment.signers)}; the secret is in the keystore as "
                f"{enrolment.keystore_label}.\nScan with the owner's authenticator:")
        if reveal:
            text += f"\n\nbase32 secret (shown this once): {enrolment.secret_b32}"
        keystore = self.services.keystore
        self.app.push_screen(ResultScreen("TOTP enrolment", text, qr_payload=enrolment.uri,
                                          shown_while=lambda: keystore.is_unlocked,
                                          hidden_because="The keystore locked; the TOTP QR code was closed."))

    # -- history ----------------------------------------------------------------------------

    def action_history(self) -> None:
        from .policy_parts import history_text

        self.run_backend(lambda: self.services.policy_history.versions(),
                         done=lambda versions: self.app.push_screen(ResultScreen("Policy versions",
                                                                                 history_text(versions))),
                         description="Reading the history", changes_state=False)

    def action_reload(self) -> None:
        self.refresh_state()
