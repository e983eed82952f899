"""Time from process start to the first frame: custody-tui on the demo config against a
bare Textual app, in the same run, on the same machine.

    python benchmarks/startup.py [--runs 5]

Each sample is a fresh interpreter (imports count: an operator waits for them too). The
child prints the wall time between the process's start and Textual's first screen refresh.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

# The child measures from its own process start time (read from /proc), so interpreter
# start-up and imports are part of the figure.
PROLOGUE = textwrap.dedent(
    """
    import os, time
    def process_start():
        ticks = os.sysconf("SC_CLK_TCK")
        with open(f"/proc/{os.getpid()}/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return time.time() - (uptime - start_ticks / ticks)
    """
)

BARE = PROLOGUE + textwrap.dedent(
    """
    import time
    from textual.app import App
    from textual.widgets import Footer, Header, Static

    class Bare(App):
        def compose(self):
            yield Header(); yield Static("hello"); yield Footer()
        def on_ready(self):
            print(time.time() - STARTED); self.exit()

    STARTED = process_start()
    Bare().run(headless=True)
    """
)

CUSTODY = PROLOGUE + textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    STARTED = process_start()
    from custody_tui.app import CustodyApp, make_app
    from custody_tui.config import load_config

    data_dir = Path(sys.argv[1])
    app = make_app(load_config(data_dir / "config.toml"), data_dir, poll=False)
    app.call_after_refresh(lambda: (print(time.time() - STARTED), app.exit()))
    app.run(headless=True)
    """
)


def sample(code: str, *args: str) -> float:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from custody_tui.demo import prepare_demo

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "demo"
        prepare_demo(data_dir)
        bare, custody = [], []
        for _ in range(args.runs):  # interleaved, so machine noise hits both alike
            bare.append(sample(BARE))
            custody.append(sample(CUSTODY, str(data_dir)))
    b, c = statistics.median(bare), statistics.median(custody)
    print(f"{'app':<28}{'median s':>10}{'min s':>10}{'max s':>10}")
    print(f"{'bare Textual app':<28}{b:>10.3f}{min(bare):>10.3f}{max(bare):>10.3f}")
    print(f"{'custody-tui (demo config)':<28}{c:>10.3f}{min(custody):>10.3f}{max(custody):>10.3f}")
    print(f"ratio custody/bare: {c / b:.2f}x (target: at most 2x), {args.runs} runs each")


if __name__ == "__main__":
    main()
