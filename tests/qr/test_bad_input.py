"""Bad input to the QR side: whatever a camera or a pasted file hands the BBQr collector
or join, the answer is progress, the payload, or a typed QrError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backends.qr import BBQrCollector, QrError, bbqr_join, bbqr_split

from ..outside import huge_numbers, mutations, odd_text, within

PARTS = bbqr_split(b"\x70\x73\x62\x74\xff" + bytes(range(256)) * 4, file_type="P", encoding="Z", max_version=5)
part_text = st.sampled_from(PARTS) | st.sampled_from(PARTS).flatmap(
    lambda p: mutations(p.encode()).map(lambda b: b.decode("utf-8", "replace"))
) | odd_text.map(lambda t: "B$ZP0200" + t) | huge_numbers.map(lambda n: "B$2T0100" + n)


@settings(max_examples=150)
@given(st.lists(part_text | odd_text, min_size=1, max_size=6))
def test_scanned_codes_give_progress_or_a_qr_error(codes):
    collector = BBQrCollector()
    with within():
        for code in codes:
            try:
                collector.add(code)
            except QrError as exc:
                assert str(exc)
        if collector.done:
            try:
                collector.result()
            except QrError:
                pass


@settings(max_examples=100)
@given(st.lists(part_text, min_size=1, max_size=len(PARTS) + 2))
def test_joining_pasted_parts_gives_the_payload_or_a_qr_error(parts):
    with within():
        try:
            bbqr_join(parts)
        except QrError as exc:
            assert str(exc)
