"""MPC ceremonies: the threshold keys this keyholder's node takes part in, made and used
through the git board. A table of ceremonies with phase and who has acted, what waits on
this keyholder, starting a DKG, requesting a signature (a spend from the group's coins or
a message), the decoded review with approve/decline, the group key and its address as text
and QR, moving a ceremony across an air gap (animated QR, files, scanned parts), recovery
and a progress log. On a data dir hosting several nodes (the demo rig) ``n`` switches
which node the screen acts as. Every call runs in a worker through ``backends.ceremony``.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, RichLog, Static

from .base import AreaAction, AreaScreen, error_text
from .ceremony_parts import (
    NodeView,
    ReviewScreen,
    ScanScreen,
    TransferScreen,
    event_line,
    node_line,
    qr_version_for,
    read_node,
    state_text,
)
from .widgets import ConfirmTypedScreen, FormField, FormScreen, ResultScreen

NEEDS_NODE = "create a node first: custody-tui ceremony node init (README: MPC ceremonies)"
#: sat/vB of a spend requested here (the review shows the fee before anyone approves)
SPEND_FEE_RATE = 2.0
#: rounds of a sync the operator asks for: nodes hosted together see each other's posts
SYNC_ROUNDS = 3
#: the table's "what" column: five columns fit 80 terminal columns
TITLE_WIDTH = 24


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _has_node(services) -> bool:
    return bool(services.ceremony_nodes.names())


def _several_nodes(services) -> bool:
    return len(services.ceremony_nodes.names()) > 1


class CeremoniesScreen(AreaScreen):
    AREA = "ceremonies"
    TITLE = "MPC ceremonies"
    AUTO_FOCUS = "#ceremony-table"
    ACTIONS = (
        AreaAction("n", "switch_node", "switch node", "Act as the next node this data dir hosts (demo rig)",
                   _several_nodes, needs="only one node lives in this data dir", footer="Node",
                   hide_when_unavailable=True),
        AreaAction("d", "start_dkg", "start DKG", "Start a key generation among roster names",
                   _has_node, needs=NEEDS_NODE, footer="DKG"),
        AreaAction("s", "request_spend", "request spend", "Ask the group to pay from its coins (a PSBT)",
                   _has_node, needs=NEEDS_NODE, footer="Spend"),
        AreaAction("m", "request_message", "request message signature", "Ask the group to sign a text",
                   _has_node, needs=NEEDS_NODE, show=False),
        AreaAction("k", "group_key", "group key", "The selected DKG's group key and taproot address, with QR",
                   _has_node, needs=NEEDS_NODE, footer="Key"),
        AreaAction("x", "export", "export", "The selected ceremony as an animated QR, and as a file",
                   _has_node, needs=NEEDS_NODE, footer="Export"),
        AreaAction("i", "import_file", "import file", "Take in a ceremony file or a file of scanned QR parts",
                   _has_node, needs=NEEDS_NODE, footer="Import"),
        AreaAction("c", "scan", "scan QR", "Take in a ceremony QR with a scanner (parts in any order)",
                   _has_node, needs=NEEDS_NODE, show=False),
        AreaAction("y", "sync", "sync", "Post, fetch the board and advance every ceremony",
                   _has_node, needs=NEEDS_NODE, footer="Sync"),
        AreaAction("u", "unlock", "unlock node", "Unlock this node's keystore so it can post and sign",
                   _has_node, needs=NEEDS_NODE, show=False),
        AreaAction("R", "recover", "recover node", "After a lost or restored data dir: re-read this node's "
                   "history from the board (destroys stale nonces)", _has_node, needs=NEEDS_NODE, show=False),
        AreaAction("r", "reload", "reload", "Read the node's ceremonies again", _has_node, show=False),
    )
    EXTRA_HELP = (("enter", "act on the selected ceremony: join a DKG, review a request, or show it"),)

    def __init__(self) -> None:
        super().__init__()
        self.node_name: str | None = None
        self.view: NodeView | None = None
        self._syncing = False

    # -- layout ---------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield Static("", id="ceremony-node")
        with Vertical(classes="panel", id="ceremony-list") as panel:
            panel.border_title = "Ceremonies"
            table = DataTable(id="ceremony-table", cursor_type="row", zebra_stripes=True)
            for key, label in [("id", "id"), ("state", "state"), ("title", "what"), ("acted", "acted"),
                               ("waiting", "waiting on")]:
                table.add_column(label, key=key)
            yield table
        detail = Static("", id="ceremony-detail", markup=False)
        detail.border_title = "Selected"
        yield detail
        log = RichLog(id="ceremony-log", wrap=True, markup=False, highlight=False, max_lines=500)
        log.border_title = "Progress"
        yield log

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#ceremony-log", RichLog).write(Text(
            "enter: join or review · c: scan a QR · m: sign a message · F1: all keys",
            style="dim"))
        if getattr(self.app, "poll", False):
            self.set_interval(self.services.config.ui.poll_seconds, self.background_sync)

    @property
    def nodes(self) -> Any:
        return self.services.ceremony_nodes

    # -- reading ----------------------------------------------------------------------------

    def refresh_state(self) -> None:
        super().refresh_state()
        self.action_reload()

    def action_reload(self) -> None:
        nodes = self.nodes

        def read() -> NodeView | None:
            names = nodes.names()
            if not names:
                return None
            nodes.unlock_demo()  # the demo's passphrase is published; a real node asks (u)
            if self.node_name not in names:
                self.node_name = names[0]
            return read_node(nodes, self.node_name)

        self.run_backend(read, done=self.show_view, description="Reading the ceremony node", changes_state=False)

    def show_view(self, view: NodeView | None) -> None:
        self.view = view
        line = self.query_one("#ceremony-node", Static)
        table = self.query_one("#ceremony-table", DataTable)
        if view is None:
            line.update(Text("No ceremony node in this data dir. Create one with `custody-tui ceremony node "
                             "init --name NAME --board REMOTE` (README: MPC ceremonies); `custody-tui demo` "
                             "hosts three.", style="dim"))
            table.clear()
            self.show_detail()
            return
        line.update(node_line(view))
        selected = self.selected()
        table.clear()
        for status in view.statuses:
            acted = sorted({name for names in status.board.values() for name in names})
            others = [name for name in status.waiting_on if name != view.name]
            waiting = ",".join((["me"] if status.waiting_on_me else []) + others)
            table.add_row(status.id[:8], state_text(status.state), Text(_short(status.title, TITLE_WIDTH)),
                          Text(",".join(acted)), Text(waiting, style="bold yellow" if status.waiting_on_me else ""),
                          key=status.id)
        if selected is not None and any(s.id == selected.id for s in view.statuses):
            table.move_cursor(row=table.get_row_index(selected.id))
        self.refresh_bindings()
        self.show_detail()

    def selected(self) -> Any:
        table = self.query_one("#ceremony-table", DataTable)
        if self.view is None or not self.view.statuses or table.row_count == 0 or table.cursor_row < 0:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return next((s for s in self.view.statuses if s.id == key), None)

    @on(DataTable.RowHighlighted, "#ceremony-table")
    def show_detail(self) -> None:
        status = self.selected()
        self.query_one("#ceremony-detail", Static).update("\n".join(status.lines()) if status else "")

    def log_events(self, events: list[Any], node: str = "") -> None:
        log = self.query_one("#ceremony-log", RichLog)
        for event in events:
            log.write(event_line(event, node))

    # -- node switching, unlocking, syncing ------------------------------------------------------

    def action_switch_node(self) -> None:
        names = self.nodes.names()
        if len(names) < 2:
            return
        current = names.index(self.node_name) if self.node_name in names else -1
        self.node_name = names[(current + 1) % len(names)]
        self.query_one("#ceremony-log", RichLog).write(Text(f"— acting as {self.node_name}", style="bold"))
        self.action_reload()

    def action_unlock(self) -> None:
        name = self.node_name
        if name is None:
            return
        form = FormScreen(f"Unlock node {name}", [FormField("passphrase", "Node keystore passphrase",
                                                            password=True, keep=False)],
                          submit="Unlock", note="Its host key signs its posts; its shares and nonces sign.")
        self.submit_form(form, lambda values: self.nodes.unlock(name, values["passphrase"]),
                         description="Unlocking the node")

    def background_sync(self) -> None:
        """While the app is open, its unlocked nodes keep in step with the board."""
        if self.view is None or self._syncing:
            return  # a slow board must not make syncs pile up
        self._syncing = True
        self.run_backend(lambda: self.nodes.sync(asked=False), done=self.synced, description="Syncing",
                         changes_state=False, refused=self.sync_refused)

    def sync_refused(self, exc: Any) -> None:
        """A background sync that cannot go on (board unreachable, a stale data dir) says
        so in the log once, not every few seconds."""
        self._syncing = False
        text = f"✗ sync: {error_text(exc)}"
        if text != getattr(self, "_last_refusal", None):
            self._last_refusal = text
            self.query_one("#ceremony-log", RichLog).write(Text(text, style="bold red"))

    def synced(self, events: list[Any]) -> None:
        self._syncing = False
        if events:
            self.log_events(events)
            self.action_reload()

    def action_sync(self) -> None:
        self.run_backend(lambda: self.nodes.sync(rounds=SYNC_ROUNDS), done=self.after_sync,
                         description="Syncing the board")

    def after_sync(self, events: list[Any]) -> None:
        self.log_events(events)
        if not events:
            self.query_one("#ceremony-log", RichLog).write(Text("· in step with the board", style="dim"))

    # -- keyholder actions --------------------------------------------------------------------

    def act(self, action: str, call, *, done=None, **details: Any) -> None:
        """``call(node)`` on the current node, audited as ``ceremony <action>``."""
        name = self.node_name
        if name is None:
            return
        self.run_backend(lambda: self.nodes.act(name, action, call, **details),
                         done=done or (lambda _: None), description=action.capitalize())

    def act_with_events(self, action: str, call, **details: Any) -> None:
        name = self.node_name
        self.act(action, call, done=lambda events: self.log_events(events, name or ""), **details)

    def groups(self) -> list[Any]:
        return [s for s in (self.view.statuses if self.view else []) if s.kind == "dkg" and "address" in s.result]

    def action_start_dkg(self) -> None:
        if self.view is None:
            return
        from backends.ceremony import dkg

        everyone = ",".join([self.view.name, *self.view.others]) if self.view.others else self.view.name
        fields = [FormField("name", "Key name", placeholder="treasury"),
                  FormField("participants", "Participants (roster names, in order)", value=everyone),
                  FormField("t", "Signers needed (threshold)", value="2")]
        form = FormScreen("Start a DKG", fields, submit="Start",
                          note="Every participant compares the params hash out of band before joining.")

        def start(values: dict[str, str]) -> str:
            names = [p.strip() for p in values["participants"].split(",") if p.strip()]
            t = _count(values["t"], "the threshold")
            return self.nodes.act(self.node_name, "dkg start",
                                  lambda node: dkg.start(node, values["name"].strip(), names, t),
                                  name=values["name"].strip(), participants=names, t=t)

        self.submit_form(form, start, done=lambda cid: self.log_line(f"DKG {cid[:8]} started"),
                         description="Starting a DKG")

    def request_form(self, title: str, fields: list[FormField], call, *, note: str = "", what: str) -> None:
        """A signing request of the group chosen in the form's first field:
        ``call(dkg id, values)`` in a worker, audited as ``sign request``."""
        groups = self.groups()
        if not groups:
            self.notify("No group key yet: finish a DKG first.", severity="warning")
            return
        choices = tuple(f"{g.id[:8]} {g.title}" for g in groups)
        fields = [FormField("group", "Group", choices=choices, value=choices[0]), *fields,
                  FormField("reason", "Reason (every keyholder sees it)")]

        def request(values: dict[str, str]) -> str:
            return call(groups[choices.index(values["group"])].id, values)

        self.submit_form(FormScreen(title, fields, submit="Request", note=note), request,
                         done=lambda cid: self.log_line(f"{what} {cid[:8]} requested"),
                         description=f"Requesting a {what}")

    def action_request_spend(self) -> None:
        from backends.ceremony import spend

        fields = [FormField("to", "Pay to address"),
                  FormField("amount", "Amount (sats)", placeholder="e.g. 10000000")]
        services = self.services

        def request(cid: str, values: dict[str, str]) -> str:
            from .quorum import parse_sats

            amount = parse_sats(values["amount"])
            chain = services.chain
            return self.nodes.act(self.node_name, "sign request", lambda node: spend.request_spend(
                node, cid, chain, pay_to=values["to"], amount_sat=amount, fee_rate=SPEND_FEE_RATE,
                reason=values["reason"].strip()), dkg=cid, to=values["to"].strip(), amount_sat=amount,
                reason=values["reason"].strip())

        self.request_form("Request a spend", fields, request, what="spend",
                          note=f"A PSBT from the group's coins at {SPEND_FEE_RATE:g} sat/vB; each keyholder "
                          "reviews it before approving.")

    def action_request_message(self) -> None:
        from backends.ceremony import signing

        def request(cid: str, values: dict[str, str]) -> str:
            return self.nodes.act(self.node_name, "sign request", lambda node: signing.request(
                node, cid, reason=values["reason"].strip(), message=values["message"].encode("utf-8")),
                dkg=cid, reason=values["reason"].strip())

        self.request_form("Request a message signature", [FormField("message", "Message (text)")], request,
                          what="message signature")

    def log_line(self, text: str) -> None:
        self.query_one("#ceremony-log", RichLog).write(Text(f"· {self.node_name}: {text}"))

    # -- the selected ceremony ----------------------------------------------------------------------

    @on(DataTable.RowSelected, "#ceremony-table")
    def open_selected(self) -> None:
        status = self.selected()
        if status is None:
            return
        if status.kind == "dkg" and status.state == "invited":
            self.join(status)
        elif status.kind == "sign":
            self.review(status)
        else:
            self.app.push_screen(ResultScreen(status.title, "\n".join(status.lines())))

    def join(self, status: Any) -> None:
        from backends.ceremony import dkg

        def params() -> str:
            with self.nodes.using(self.node_name) as node:
                return dkg.params_hash(node.ceremony(status.id))

        def confirm(phash: str) -> None:
            warning = (f"{status.title}\nparams hash: {phash}\nCompare it with every keyholder out of band "
                       "before joining: the same hash means the same participants and threshold.")
            self.app.push_screen(ConfirmTypedScreen(f"Join DKG {status.id[:8]}", warning, "join"),
                                 lambda ok: self.act_with_events("dkg join", lambda node: _then_sync(
                                     node, dkg.join, status.id), ceremony=status.id) if ok else None)

        self.run_backend(params, done=confirm, description="Reading the DKG", changes_state=False)

    def review(self, status: Any) -> None:
        from backends.ceremony import signing

        def read() -> list[str]:
            with self.nodes.using(self.node_name) as node:
                row = node.ceremony(status.id)
                return [f"{row.id}  {row.state}", *signing.review(node, row.info).lines(), "", *status.lines()[1:]]

        def decided(choice: str | None) -> None:
            if choice == "approve":
                self.act_with_events("sign approve", lambda node: _then_sync(node, signing.approve, status.id),
                                     ceremony=status.id)
            elif choice == "decline":
                form = FormScreen("Decline", [FormField("reason", "Why (the others see it)", required=False)],
                                  submit="Decline")
                self.submit_form(form, lambda values: self.nodes.act(
                    self.node_name, "sign decline",
                    lambda node: _then_sync(node, signing.decline, status.id, values["reason"]),
                    ceremony=status.id), done=lambda events: self.log_events(events, self.node_name or ""),
                    description="Declining")

        def show(lines: list[str]) -> None:
            self.app.push_screen(ReviewScreen(f"Review {status.id[:8]} as {self.node_name}", lines,
                                              can_decide=bool(status.waiting_on_me)), decided)

        self.run_backend(read, done=show, description="Decoding the request", changes_state=False)

    def action_group_key(self) -> None:
        status = self.selected()
        groups = self.groups()
        group = status if status is not None and status in groups else (groups[0] if groups else None)
        if group is None:
            self.notify("No group key yet: finish a DKG first.", severity="warning")
            return

        def read() -> Any:
            with self.nodes.using(self.node_name) as node:
                return node.group(group.id)

        def show(key: Any) -> None:
            text = (f"{key.name}: {key.t}-of-{key.n}, {key.network}\ngroup key  {key.thresh_pk.hex()}\n"
                    f"address    {key.address}\ndescriptor {key.descriptor}")
            self.app.push_screen(ResultScreen(f"Group key — {key.name}", text, qr_payload=key.address))

        self.run_backend(read, done=show, description="Reading the group key", changes_state=False)

    # -- air gap: export and import ------------------------------------------------------------------

    def action_export(self) -> None:
        status = self.selected()
        if status is None:
            self.notify("Select a ceremony first.", severity="warning")
            return
        from backends.ceremony import transfer, transfer_qr

        name = self.node_name
        version = qr_version_for(self.app.size.width, self.app.size.height)

        def export() -> tuple[bytes, list[str]]:
            with self.nodes.using(name) as node:
                data = transfer.export_ceremony(node, status.id)
            return data, transfer_qr.bundle_parts(data, max_version=version)

        def show(result: tuple[bytes, list[str]]) -> None:
            data, parts = result
            note = (f"{status.title}: {len(data)} bytes in {len(parts)} QR part(s), cycling. The other "
                    "node scans them (any order) or takes the file.")
            self.app.push_screen(TransferScreen(f"Export {status.id[:8]} from {name}", parts, note),
                                 lambda path: self.write_export(status.id, data, path) if path else None)

        self.run_backend(export, done=show, description="Exporting the ceremony", changes_state=False)

    def write_export(self, cid: str, data: bytes, path: str) -> None:
        from backends.fsutil import atomic_write

        def write() -> None:
            with self.services.audited("ceremony", "export", node=self.node_name, ceremony=cid, file=path,
                                       via="tui"):
                from pathlib import Path

                atomic_write(Path(path).expanduser(), data, mode=0o644, make_parents=False)

        self.run_backend(write, done=lambda _: self.log_line(f"wrote {cid[:8]} to {path}"),
                         description="Writing the ceremony file", changes_state=False)

    def action_import_file(self) -> None:
        from backends.ceremony import transfer, transfer_qr

        form = FormScreen("Import a ceremony", [FormField("path", "Ceremony file, or a file of scanned QR parts")],
                          submit="Import", note="Every post is verified against this node's roster; an "
                          "online node posts them to the board for their authors.")
        chain = self.services.chain if self.services.chain_configured else None

        def load(values: dict[str, str]) -> list[Any]:
            from pathlib import Path

            path = Path(values["path"].strip()).expanduser()
            with open(path, "rb") as handle:
                raw = handle.read(transfer.MAX_BUNDLE_BYTES * 2 + 1)
            if len(raw) > transfer.MAX_BUNDLE_BYTES * 2:
                from backends.ceremony import MessageRefused

                raise MessageRefused(f"{path} is larger than a ceremony file can be")
            data = transfer_qr.read_transfer(raw)
            return self.nodes.act(self.node_name, "import", lambda node: transfer.import_bundle(
                node, data, chain=chain), file=str(path))

        self.submit_form(form, load, done=lambda events: self.log_events(events, self.node_name or ""),
                         description="Importing")

    def action_scan(self) -> None:
        from backends.ceremony import transfer_qr

        chain = self.services.chain if self.services.chain_configured else None

        def scanned(parts: list[str] | None) -> None:
            if parts:
                self.act_with_events("import", lambda node: transfer_qr.import_parts(node, parts, chain=chain),
                                     qr=True, parts=len(parts))

        self.app.push_screen(ScanScreen(), scanned)

    def action_recover(self) -> None:
        from backends.ceremony import recovery

        warning = ("Re-reads this node's own posts from the board and destroys every secret nonce of a "
                   "request it already approved: after a lost or restored data dir, before it signs again.")
        self.app.push_screen(ConfirmTypedScreen(f"Recover node {self.node_name}", warning, "recover"),
                             lambda ok: self.act_with_events("recover", recovery.recover) if ok else None)


def _then_sync(node: Any, step, *args: Any) -> list[Any]:
    """A keyholder's step, then a sync so that what it decided leaves at once."""
    step(node, *args)
    return node.sync()


def _count(text: str, what: str) -> int:
    from backends.errors import CustodyError
    from backends.outside_input import is_decimal

    cleaned = text.strip()
    if not is_decimal(cleaned, max_digits=3) or not 0 < int(cleaned) <= 64:
        raise CustodyError(f"{what} is a whole number from 1 to 64, not {cleaned!r}")
    return int(cleaned)
