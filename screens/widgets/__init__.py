"""Widgets and dialogs shared by the area screens."""

from .dialogs import ConfirmTypedScreen, FormField, FormScreen, ResultScreen
from .qr import QRCodeView
from .status import StatusLine

__all__ = [
    "ConfirmTypedScreen",
    "FormField",
    "FormScreen",
    "QRCodeView",
    "ResultScreen",
    "StatusLine",
]
