"""The bunker area: device tokens (who may sign what, until when), their pairing URL as
QR and text, revocation, each token's request log, and the relays' state.

The screen reads and writes the token database; the signer itself runs in ``custody-tui
bunker serve`` or the demo rig, which report relay states to a file this screen reads.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from .base import AreaAction, AreaScreen
from .widgets import ConfirmTypedScreen, FormField, FormScreen, ResultScreen


def _has_tokens(services) -> bool:
    return bool(services.bunker.tokens())


def _has_keys(services) -> bool:
    return services.keystore.exists() and any(e.kind.value == "nostr" for e in services.keystore.entries())


def relay_states(services) -> dict[str, str]:
    from backends.bunker.service import STATUS_FILE_NAME, read_status

    return read_status(services.data_dir / STATUS_FILE_NAME)


def relay_line(services) -> str:
    states = relay_states(services)
    configured = services.config.bunker.relay_list()
    if not states:
        return f"relays: {', '.join(configured) or 'none configured'} — bunker not running"
    return "relays: " + "; ".join(f"{url} {state}" for url, state in states.items())


def short_permissions(permissions) -> str:
    """``sign 21000,nip44_encrypt``: the table's 80 columns have no room for ``sign_event:``."""
    return ",".join(f"sign {p.kind}" if p.method == "sign_event" and p.kind is not None
                    else "sign any" if p.method == "sign_event" else p.method for p in permissions)


def when(timestamp: int | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%m-%d %H:%M")


def token_details(token, now: int) -> str:
    """The token in full, one field a line: times in UTC (not Unix seconds), "-" for none."""
    fields = token.to_public_dict(now)
    lines = []
    for name, value in fields.items():
        if name.endswith("_at") and isinstance(value, int):
            value = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if name == "expires_at":
                left = token.expires_in(now)
                value += " (expired)" if left == "expired" else f" (in {left})"
        elif isinstance(value, list):
            value = ", ".join(value) or "-"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif value is None:
            value = "-"
        lines.append(f"{name.replace('_', ' '):<14} {value}")
    return "\n".join(lines)


class BunkerScreen(AreaScreen):
    AREA = "bunker"
    TITLE = "Bunker tokens"
    AUTO_FOCUS = "#bunker-tokens"
    ACTIONS = (
        AreaAction("n", "create", "new token", "Issue a token: key, device, permissions, lifetime",
                   available=_has_keys, footer="New",
                   needs="add a nostr key first: custody-tui bunker key add LABEL"),
        AreaAction("x", "revoke", "revoke", "Cut the selected device off now",
                   available=_has_tokens),
        AreaAction("X", "revoke_all", "revoke all", "Cut every device off now",
                   available=_has_tokens, footer="All"),
        AreaAction("e", "reissue", "re-issue", "New pairing URL, same scope; unbinds the old device",
                   available=_has_tokens, footer="Re-issue"),
        AreaAction("r", "reload", "reload", "Read tokens, requests and relay states again"),
    )
    EXTRA_HELP = (("enter", "show the selected token in full"),)

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="panel") as panel:
            panel.border_title = "Tokens"
            yield Static("", id="bunker-relays")
            yield Static("", id="bunker-warnings", classes="warn-line")
            table = DataTable(id="bunker-tokens", cursor_type="row", zebra_stripes=True)
            for key, label in [("client", "client"), ("key", "key"), ("perms", "allows"),
                               ("expires", "expires"), ("bound", "device"),
                               ("used", "last used"), ("state", "state")]:
                table.add_column(label, key=key)
            yield table
        with Vertical(classes="panel", id="bunker-log-panel") as log_panel:
            log_panel.border_title = "Requests of the selected token"
            log = DataTable(id="bunker-log", cursor_type="row", zebra_stripes=True)
            for key, label in [("at", "when (UTC)"), ("method", "method"), ("kind", "kind"),
                               ("outcome", "outcome")]:
                log.add_column(label, key=key)
            yield log

    def on_mount(self) -> None:
        super().on_mount()
        self.tokens: dict[str, object] = {}
        if getattr(self.app, "poll", False):
            self.set_interval(self.services.config.ui.poll_seconds, self.action_reload)

    def refresh_state(self) -> None:
        super().refresh_state()
        self.action_reload()

    def selected(self):
        table = self.query_one("#bunker-tokens", DataTable)
        if not self.tokens or table.cursor_row < 0 or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return self.tokens.get(key)

    # -- reading ------------------------------------------------------------------------

    def action_reload(self) -> None:
        services = self.services

        def read():
            return services.bunker.tokens(), services.bunker.now(), relay_line(services)

        self.run_backend(read, done=self.show_tokens, description="Reading bunker tokens",
                         changes_state=False)

    def show_tokens(self, result) -> None:
        tokens, now, relays = result
        self.query_one("#bunker-relays", Static).update(Text(relays))
        expiring = [t.client_name for t in tokens if t.expiring_soon(now)]
        warning = self.query_one("#bunker-warnings", Static)
        warning.update(Text(f"expiring soon: {', '.join(expiring)} (re-issue with e)" if expiring else ""))
        warning.set_class(bool(expiring), "warn")
        table = self.query_one("#bunker-tokens", DataTable)
        selected = self.selected()
        self.tokens = {t.id: t for t in tokens}
        table.clear()
        for token in tokens:
            state = token.state(now)
            table.add_row(
                Text(token.client_name), Text(token.key_label),
                Text(short_permissions(token.permissions)), token.expires_in(now),
                (token.client_pubkey or "-")[:8], when(token.last_used_at),
                Text(state, style={"active": "green", "unpaired": "yellow"}.get(state, "red")),
                key=token.id,
            )
        if selected is not None and selected.id in self.tokens:
            table.move_cursor(row=table.get_row_index(selected.id))
        self.refresh_bindings()
        self.show_log()

    @on(DataTable.RowHighlighted, "#bunker-tokens")
    def token_highlighted(self) -> None:
        self.show_log()

    def show_log(self) -> None:
        token = self.selected()
        log = self.query_one("#bunker-log", DataTable)
        if token is None:
            log.clear()
            return
        store = self.services.bunker
        self.run_backend(lambda: store.request_log(token.id, 100), done=self._fill_log,
                         description="Reading the request log", changes_state=False)

    def _fill_log(self, records) -> None:
        log = self.query_one("#bunker-log", DataTable)
        log.clear()
        for record in records:
            outcome = "allowed" if record.allowed else f"refused: {record.reason}"
            log.add_row(when(record.at), Text(record.method),
                        "" if record.kind is None else str(record.kind),
                        Text(outcome, style="" if record.allowed else "red"))

    @on(DataTable.RowSelected, "#bunker-tokens")
    def show_token(self) -> None:
        token = self.selected()
        if token is None:
            return
        text = token_details(token, self.services.bunker.now())
        self.app.push_screen(ResultScreen(f"Token {token.id} — {token.client_name}", text))

    # -- operator actions --------------------------------------------------------------

    def action_create(self) -> None:
        services = self.services
        keys = tuple(e.label for e in services.keystore.entries() if e.kind.value == "nostr")
        fields = [
            FormField("key", "Signing key", choices=keys, value=keys[0] if keys else ""),
            FormField("client", "Device name", placeholder="atm-lisbon-03"),
            FormField("perms", "Permissions", value="sign_event:21000"),
            FormField("expires", "Lifetime (90m, 12h, 30d, 4w)", value="30d"),
            FormField("uses", "Use limit (empty = none)", required=False),
        ]

        def create(values: dict[str, str]):
            from backends.bunker.errors import InvalidTokenRequest
            from backends.bunker.keys import issue_token
            from backends.bunker.tokens import parse_lifetime
            from backends.outside_input import is_decimal

            lifetime = parse_lifetime(values["expires"])
            uses_text = values.get("uses", "").strip()
            if uses_text and not is_decimal(uses_text):  # not isdigit(): '²' passes it, then int() raises
                raise InvalidTokenRequest("the use limit is a whole number, or empty")
            uses = int(uses_text) if uses_text else None
            with services.audited("bunker", "token create", via="tui", key=values["key"],
                                  client=values["client"], permissions=values["perms"],
                                  lifetime_seconds=lifetime, uses=uses) as result:
                token, url = issue_token(
                    services.bunker, services.keystore, key_label=values["key"],
                    client_name=values["client"], permissions=values["perms"],
                    lifetime_seconds=lifetime, relays=services.config.bunker.relay_list(),
                    max_uses=uses)
                result["token"] = token.id
            return token, url

        self.submit_form(FormScreen("New device token", fields, submit="Issue",
                                    note="The pairing URL is shown once; it pairs one device."),
                         create, done=self.show_url, description="Issuing a token")

    def show_url(self, result) -> None:
        token, url = result
        self.app.push_screen(ResultScreen(
            f"Pair {token.client_name} — scan once", f"{url}\n\nShown once: it pairs one device.",
            qr_payload=str(url)))

    def action_revoke(self) -> None:
        token = self.selected()
        if token is None:
            return
        services = self.services

        def revoke() -> None:
            with services.audited("bunker", "token revoke", via="tui", token=token.id):
                services.bunker.revoke(token.id)

        warning = (f"{token.client_name} will be refused from its next request on. "
                   "To pair it again, re-issue the token.")
        self.app.push_screen(ConfirmTypedScreen(f"Revoke {token.client_name}", warning, "revoke"),
                             lambda ok: self.run_backend(
                                 revoke, done=lambda _: self.notify(f"Revoked {token.client_name}."),
                                 description="Revoking a token") if ok else None)

    def action_revoke_all(self) -> None:
        services = self.services

        def revoke_all() -> int:
            with services.audited("bunker", "token revoke-all", via="tui") as result:
                result["revoked"] = count = services.bunker.revoke_all()
            return count

        warning = "Every device is refused from its next request on, on every key."
        self.app.push_screen(ConfirmTypedScreen("Revoke every token", warning, "revoke all"),
                             lambda ok: self.run_backend(
                                 revoke_all, done=lambda n: self.notify(f"Revoked {n} token(s)."),
                                 description="Revoking every token") if ok else None)

    def action_reissue(self) -> None:
        token = self.selected()
        if token is None:
            return
        services = self.services

        def reissue():
            with services.audited("bunker", "token reissue", via="tui", token=token.id):
                return services.bunker.reissue(token.id)

        warning = (f"{token.client_name} gets a new pairing URL with the same permissions and a "
                   "fresh lifetime; the device paired now is unbound.")
        self.app.push_screen(ConfirmTypedScreen(f"Re-issue {token.client_name}", warning, "reissue"),
                             lambda ok: self.run_backend(reissue, done=self.show_url,
                                                         description="Re-issuing a token") if ok else None)
