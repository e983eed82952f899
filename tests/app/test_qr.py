"""QR from the command line and in the widget: what is drawn decodes to the payload's code,
and large payloads travel as BBQr parts that join back."""

from __future__ import annotations

import random
import time

from backends.qr import bbqr_join, matrix_from_half_blocks, qr_matrix
from custody_tui.cli import main
from screens.widgets.qr import QRCodeView


def noise(size: int, seed: int = 6000) -> bytes:
    """Binary that is the same on every run, so a failure can be replayed."""
    return random.Random(seed).randbytes(size)



def test_show_draws_a_code_that_decodes_to_the_payloads_matrix(tmp_path, capsys):
    payload = tmp_path / "address.txt"
    payload.write_text("bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk")
    assert main(["qr", "show", str(payload)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert matrix_from_half_blocks(lines) == qr_matrix(payload.read_bytes())


def test_a_large_payload_splits_and_joins_back(tmp_path, capsys, monkeypatch):
    payload = tmp_path / "psbt.bin"
    # Binary that starts and ends with whitespace bytes must survive byte for byte.
    data = b"\t\n" + noise(6000) + b"\xff\n"
    payload.write_bytes(data)
    assert main(["qr", "split", str(payload), "--type", "psbt"]) == 0
    parts = capsys.readouterr().out.split()
    assert len(parts) > 1 and all(p.startswith("B$") and p[3] == "P" for p in parts)

    parts_file = tmp_path / "parts.txt"
    parts_file.write_text("\n".join(reversed(parts)))
    out = tmp_path / "joined.bin"
    assert main(["qr", "join", str(parts_file), "--out", str(out)]) == 0
    assert out.read_bytes() == data


def test_a_text_payload_loses_the_trailing_newline(tmp_path, capsys):
    payload = tmp_path / "address.txt"
    payload.write_text("bcrt1qexample\n")
    assert main(["qr", "split", str(payload), "--type", "text"]) == 0
    parts = capsys.readouterr().out.split()
    assert bbqr_join(parts)[1] == b"bcrt1qexample"


def test_export_writes_one_image_per_part(tmp_path, capsys):
    payload = tmp_path / "big.bin"
    payload.write_bytes(noise(6000))
    assert main(["qr", "export", str(payload), "--type", "binary", "--png",
                 str(tmp_path / "code.png"), "--svg", str(tmp_path / "code.svg")]) == 0
    pngs = sorted(tmp_path.glob("code-*.png"))
    svgs = sorted(tmp_path.glob("code-*.svg"))
    assert len(pngs) == len(svgs) > 1
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)


def test_missing_parts_are_named(tmp_path, capsys):
    payload = tmp_path / "big.bin"
    payload.write_bytes(noise(6000))
    main(["qr", "split", str(payload)])
    parts = capsys.readouterr().out.split()
    (tmp_path / "parts.txt").write_text("\n".join(parts[1:]))
    assert main(["qr", "join", str(tmp_path / "parts.txt")]) == 1
    assert "missing" in capsys.readouterr().err


async def test_widget_animates_bbqr_parts_that_join_back(app_factory):
    data = noise(5000)
    view = QRCodeView(data, file_type="B", frame_seconds=0.05)
    assert view.is_multipart
    assert bbqr_join(view.parts) == ("B", data)
    app = app_factory()
    async with app.run_test(size=(120, 80)) as pilot:
        await app.screen.mount(view)
        await pilot.pause()
        seen = set()
        deadline = time.monotonic() + 30  # a hang guard, not a speed check
        while seen != set(range(len(view.parts))) and time.monotonic() < deadline:
            seen.add(view.part_index)
            await pilot.pause(0.02)
        assert seen == set(range(len(view.parts)))  # every part is shown, so a scanner can join them
        drawn = str(view.render()).splitlines()
        current = view.parts[view.part_index]
        assert matrix_from_half_blocks(drawn[:-1]) == qr_matrix(current)


def test_join_of_something_that_is_not_bbqr_text_is_refused(tmp_path, capsys):
    parts = tmp_path / "bin.parts"
    parts.write_bytes(b"B$ZP0100\xff\xfe")
    assert main(["qr", "join", str(parts)]) == 1
    assert "is not BBQr text" in capsys.readouterr().err
