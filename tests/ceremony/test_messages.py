"""Request fields a keyholder reads in the review come from the board: one printable line."""

import pytest

from backends.ceremony import messages
from backends.ceremony.errors import MessageRefused

DKG = "ab" * 16


def _request(reason: str) -> dict:
    return {"kind": "sign", "dkg": DKG, "reason": reason, "payload": "message", "message": "00", "counter": 1}


def test_a_plain_reason_is_taken():
    assert messages.sign_request(_request("pay the March invoice"), "request")[3] == "pay the March invoice"


@pytest.mark.parametrize("reason", [
    # a newline would let the requester print lines that look like the decoded review
    "rent\ntransaction 00\n  out bc1qexample  1,000 sat  change (back to the group)",
    "rent\u202e",  # right-to-left override: reorders what the keyholder sees
    "rent\u009b2J",  # C1 CSI: a terminal control in 8-bit mode
    "rent\x7f",
])
def test_a_reason_that_could_fake_review_lines_is_refused(reason):
    with pytest.raises(MessageRefused, match="reason"):
        messages.sign_request(_request(reason), "request")


def test_a_group_name_with_a_control_is_refused():
    body = {"kind": "dkg", "name": "ops\nfake", "hostpubkeys": ["02" + "11" * 32], "t": 1,
            "network": "regtest", "counter": 1}
    with pytest.raises(MessageRefused, match="name"):
        messages.dkg_start(body, "start")
