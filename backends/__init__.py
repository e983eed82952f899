"""Pure-Python backends of custody-tui. Nothing under this package imports textual or rich.

Each subpackage owns one concern and its own state in the data directory; every expected
failure is raised as a subclass of :class:`backends.errors.CustodyError`.
"""
