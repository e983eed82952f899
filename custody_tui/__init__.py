"""The custody-tui application shell: CLI entry, configuration, paths, the Textual app,
shared widgets and the embedded demo rig. Areas live in ``screens``; logic in ``backends``.
"""

__version__ = "0.1.0"
