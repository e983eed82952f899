"""Widgets and dialogs shared by the area screens."""

from .dialogs import ConfirmScreen, ConfirmTypedScreen, FormField, FormScreen, ResultScreen
from .status import StatusLine

__all__ = ["ConfirmScreen", "ConfirmTypedScreen", "FormField", "FormScreen", "ResultScreen", "StatusLine"]
