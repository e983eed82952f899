"""How a PSBT the device will not sign is reported: the text ``stok`` gives after ``err_``.

The firmware has three kinds (``auth.ApproveTransaction``): a ``FatalPSBTIssue`` is its
text alone, change fraud is ``Output#N: ...``, and a failed ``assert`` while checking
(``Invalid PSBT``) or signing (``Signing failed late``) is the headline alone over USB,
while the screen (story "Failure") adds the assertion's text if it has one and where it
was raised as ``file.py:line``, each part after a blank line (``problem_file_line``).
``UserAuthorizedAction.failure`` keeps the USB text before it appends the details, in
v5.4.5 as on master. The places are v5.4.5's line numbers.
"""

from __future__ import annotations

INVALID_PSBT = "Invalid PSBT"
SIGNING_FAILED_LATE = "Signing failed late"


class SigningFailure(Exception):
    """The PSBT cannot be signed; the text is what ``stok`` reports after ``err_``, and
    ``screen``/``title`` the story the device shows (outside HSM mode) until OK."""

    def __init__(self, text: str, *, screen: str | None = None, title: str = "Failure") -> None:
        super().__init__(text)
        self.screen = screen if screen is not None else text
        self.title = title


class FirmwareAssertion(Exception):
    """A firmware ``assert`` that failed: its text (may be empty) and ``file.py:line``."""

    def __init__(self, text: str, where: str) -> None:
        super().__init__(text)
        self.text = text
        self.where = where


def require(condition: bool, text: str, where: str) -> None:
    if not condition:
        raise FirmwareAssertion(text, where)


def with_details(headline: str, exc: FirmwareAssertion) -> SigningFailure:
    parts = [headline, exc.text, exc.where] if exc.text else [headline, exc.where]
    return SigningFailure(headline, screen="\n\n".join(parts))


def change_fraud(output_index: int, text: str) -> SigningFailure:
    """``FraudulentChangeOutput``: the PSBT's description of an output is a lie."""
    return SigningFailure("Output#%d: %s" % (output_index, text), title="Change Fraud")
