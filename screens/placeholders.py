"""Areas that are not built yet. They say so plainly and show no data: an operator must
never mistake an empty mock for a real signer or a real reserve."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from .base import AreaScreen


class PlaceholderScreen(AreaScreen):
    PLANNED: str = ""

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="panel placeholder") as panel:
            panel.border_title = self.TITLE
            yield Static(f"[b]{self.TITLE} is not built yet.[/b]", classes="placeholder-title")
            yield Static(
                "Nothing on this screen is connected to a device, a chain or a service, "
                "and it shows no data.",
            )
            yield Static(f"Planned: {self.PLANNED}", classes="placeholder-planned")


class CeremoniesScreen(PlaceholderScreen):
    AREA = "ceremonies"
    TITLE = "MPC ceremonies"
    PLANNED = (
        "threshold Schnorr keys made and used through a git bulletin board (ChillDKG key "
        "generation, BIP-445 FROST signing), with QR for air-gapped steps."
    )
