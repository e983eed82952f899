"""The command-line mirror of each area: ``custody-tui <area> <action> ...``.

Each module registers its subcommands on the parser and runs them against the same
``Services`` the app uses, so a scripted action is audited exactly like a TUI one.
"""
