"""Arming a signer: enrol the wallet where it is missing, upload the policy, start HSM
mode, then verify before the signer may count as live."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from backends.errors import CustodyError

from .registry import QuorumSpec, SignerSpec, coldcard_wallet_file
from .status import SignerStatus, read_status

#: how long a USB device's operator has to approve an enrolment or "Start HSM?"
APPROVAL_TIMEOUT_SECONDS = 120.0


def accepted_policy_hashes(policy: dict) -> frozenset[str]:
    """The ``policy_hash`` values a device armed with ``policy`` may report.

    Firmware master hashes ``json.dumps`` of the saved form; the v5.4.5 form is the same
    document, so one hash covers both as long as the saved forms agree."""
    from backends.coldcard.hsm import HsmPolicy

    return frozenset({HsmPolicy.from_json(policy).hash()})


def arm(client, signer: SignerSpec, spec: QuorumSpec, *, enabled: bool = True,
        say: Callable[[str], None] = lambda _text: None) -> SignerStatus:
    """Bring ``signer`` to live: returns its verified status, whose ``failing_check`` names
    what still fails (``None``: live). Device errors on the way end up in ``problem``."""
    accepted = accepted_policy_hashes(spec.policy)
    status = read_status(client, signer, spec, enabled, accepted)
    if status.failing_check in (None, "reachable", "xfp"):
        return status
    try:
        if status.hsm_active:
            # HSM mode cannot be left over USB: only the device's operator (or a power
            # cycle without boot_to_hsm) can end it
            return status
        if not status.wallet_enrolled:
            say(f"{signer.name}: enrolling {spec.wallet_name}")
            client.enroll_multisig(coldcard_wallet_file(spec), press_ok_on_simulator=client.is_simulator)
            _wait(lambda: client.has_multisig(spec.threshold, len(spec.signers),
                                              [s.xfp_int for s in spec.signers]), client)
        say(f"{signer.name}: uploading the policy and starting HSM mode")
        client.start_hsm(json.dumps(spec.policy).encode(), press_ok_on_simulator=client.is_simulator)
        _wait(lambda: client.hsm_status().get("active"), client)
    except CustodyError as exc:
        checked = read_status(client, signer, spec, enabled, accepted)
        if checked.failing_check is None:
            return checked
        return _with_cause(checked, exc)
    return read_status(client, signer, spec, enabled, accepted)


def _wait(done: Callable[[], object], client) -> None:
    """Wait for the device's operator (USB); a simulator has been answered already."""
    deadline = time.monotonic() + (5.0 if client.is_simulator else APPROVAL_TIMEOUT_SECONDS)
    while not done():
        if time.monotonic() > deadline:
            raise CustodyError("the device was not approved in time",
                               hint="approve on the Coldcard's screen, then arm again")
        time.sleep(0.2)


def _with_cause(status: SignerStatus, exc: CustodyError) -> SignerStatus:
    from dataclasses import replace

    return replace(status, problem=f"{status.problem} ({exc})")
