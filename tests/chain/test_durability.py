"""A hard kill must not lose a block the embedded chain reported as mined."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backends.chain import EmbeddedChain
from backends.chain.blocklog import BlockLog

from .funding import BURN_ADDRESS

REPO = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys
    from backends.chain import EmbeddedChain
    data_dir, address = sys.argv[1], sys.argv[2]
    with EmbeddedChain(data_dir) as chain:          # a clean close first: the kernel flushes
        for block_hash in chain.mine(5, address):
            print(block_hash, flush=True)
    chain = EmbeddedChain(data_dir)                  # then blocks the kernel never flushes
    while True:
        for block_hash in chain.mine(1, address):
            print(block_hash, flush=True)
""")


@pytest.mark.slow
def test_every_block_reported_mined_survives_sigkill(tmp_path):
    data_dir = tmp_path / "chain"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), BURN_ADDRESS],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reported: list[str] = []
    try:
        while len(reported) < 40:
            line = writer.stdout.readline()
            if not line:
                pytest.fail(f"writer died: {writer.stderr.read()}")
            reported.append(line.strip())
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    assert writer.returncode == -signal.SIGKILL

    with EmbeddedChain(data_dir) as chain:
        assert chain.replay_warnings == []
        assert chain.replayed_blocks >= len(reported) - 5  # the kernel lost them; the log brought them back
        assert chain.tip().height >= len(reported)
        assert [chain.block_hash(h) for h in range(1, len(reported) + 1)] == reported
        # the index caught up with the kernel: every block's coinbase is an output
        assert chain._store.last_block()[0] == chain.tip().height
    with EmbeddedChain(data_dir) as chain:  # and a clean reopen after recovery is stable
        assert [chain.block_hash(h) for h in range(1, len(reported) + 1)] == reported


def test_torn_last_record_of_the_block_log_is_cut_off(tmp_path):
    log = BlockLog(tmp_path / "blocks.log")
    log.append(b"\x01" * 100)
    log.append(b"\x02" * 100)
    log.close()
    with open(tmp_path / "blocks.log", "ab") as handle:
        handle.write(b"\x50\x00\x00\x00abcd" + b"\x03" * 10)  # a record cut short
    log = BlockLog(tmp_path / "blocks.log")
    assert list(log.replay()) == [b"\x01" * 100, b"\x02" * 100]
    log.append(b"\x04" * 10)
    assert list(log.replay())[-1] == b"\x04" * 10
    log.close()


def test_reopen_replays_only_what_a_clean_close_did_not_persist(tmp_path):
    with EmbeddedChain(tmp_path / "c") as chain:
        chain.mine(3, BURN_ADDRESS)
    log = BlockLog(tmp_path / "c" / "blocks.log")
    offset, tip_hash = log.flushed()
    log.close()
    assert offset == (tmp_path / "c" / "blocks.log").stat().st_size and tip_hash is not None
    with EmbeddedChain(tmp_path / "c") as chain:
        assert chain.replayed_blocks == 0  # the kernel persisted them when it was closed
        assert chain.tip().hash_hex == tip_hash and chain.tip().height == 3


SIDE_BRANCH_WRITER = textwrap.dedent("""
    import sys, time
    from backends.chain import EmbeddedChain, SideBranchBlock
    from backends.chain.blockbuild import build_block
    data_dir, address = sys.argv[1], sys.argv[2]
    with EmbeddedChain(data_dir) as chain:
        chain.mine(5, address)
    chain = EmbeddedChain(data_dir)                  # nothing after this is flushed by the kernel
    chain.mine(3, address)
    kernel, top = chain._kernel, chain.tip().height
    side = build_block(prev_hash=kernel.hash_at(top - 1), height=top,   # pays elsewhere: not a twin of ours
                       median_time_past=kernel.median_time_past(top - 1),
                       payout_script=bytes.fromhex("0014" + "55" * 20), txs=[], fees_sat=0)
    try:
        chain.submit_block(side.raw)
    except SideBranchBlock:
        print(side.hash.hex(), top, kernel.median_time_past(top - 1), flush=True)
    else:
        print("connected", flush=True)              # a twin of the tip: the test setup is wrong
    time.sleep(60)
""")


@pytest.mark.slow
def test_a_side_branch_block_survives_sigkill_so_its_branch_can_still_win(tmp_path):
    from backends.chain.addresses import payout_script
    from backends.chain.blockbuild import build_block

    data_dir = tmp_path / "chain"
    writer = subprocess.Popen([sys.executable, "-c", SIDE_BRANCH_WRITER, str(data_dir), BURN_ADDRESS],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = writer.stdout.readline()
        if not line:
            pytest.fail(f"writer died: {writer.stderr.read()}")
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    assert line.strip() != "connected"
    side_hash, height, mtp = bytes.fromhex(line.split()[0]), int(line.split()[1]), int(line.split()[2])
    with EmbeddedChain(data_dir) as chain:
        assert chain.replay_warnings == [] and chain.tip().height == height
        winner = build_block(prev_hash=side_hash, height=height + 1, median_time_past=mtp + 1,
                             payout_script=payout_script(BURN_ADDRESS, "regtest"), txs=[], fees_sat=0)
        chain.submit_block(winner.raw)  # needs the side block, which only the log kept
        assert (chain.tip().height, chain.tip().hash_hex) == (height + 1, winner.hash_hex)
