"""Widgets and dialogs shared by the area screens."""

from .dialogs import ConfirmTypedScreen, FormField, FormScreen, ResultScreen
from .status import StatusLine

__all__ = ["ConfirmTypedScreen", "FormField", "FormScreen", "ResultScreen", "StatusLine"]
