"""One module per work area of custody-tui. Textual only: screens compose widgets, run
backend calls in workers and render the results; protocol logic stays in ``backends``."""
