"""All parties of a ChillDKG session in one process: for tests, benchmarks and a local demo.

Real ceremonies run each participant on its own machine and relay messages through a
coordinator; this module only chains the same calls, in the BIP's order.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from . import chilldkg
from .errors import InvalidInputError
from .simplpedpop import DKGOutput


@dataclass(frozen=True, repr=False)
class LocalDkg:
    params: chilldkg.SessionParams
    hostseckeys: tuple[bytes, ...]
    outputs: tuple[DKGOutput, ...]  # participant i's output, with its secret share
    coordinator_output: DKGOutput
    recovery_data: bytes

    def __repr__(self) -> str:
        return f"LocalDkg(t={self.params.t}, n={len(self.outputs)}, thresh_pk={self.coordinator_output.thresh_pk.hex()})"


def run_in_memory(t: int, n: int, hostseckeys: list[bytes] | None = None) -> LocalDkg:
    hostseckeys = hostseckeys or [secrets.token_bytes(32) for _ in range(n)]
    params = chilldkg.SessionParams(tuple(chilldkg.hostpubkey_gen(k) for k in hostseckeys), t)
    round1 = [chilldkg.participant_step1(k, params, secrets.token_bytes(32)) for k in hostseckeys]
    cstate, cmsg1 = chilldkg.coordinator_step1([pmsg for _, pmsg in round1], params)
    round2 = [
        chilldkg.participant_step2(k, state1, cmsg1, secrets.token_bytes(32))
        for k, (state1, _) in zip(hostseckeys, round1, strict=True)
    ]
    cmsg2, coordinator_output, recovery_data = chilldkg.coordinator_finalize(cstate, [pmsg2 for _, pmsg2 in round2])
    outputs = []
    for state2, _ in round2:
        output, data = chilldkg.participant_finalize(state2, cmsg2)
        if data != recovery_data:  # CertEq: everyone certified the same transcript
            raise InvalidInputError("participants ended with different transcripts", check="transcript_mismatch")
        outputs.append(output)
    return LocalDkg(params, tuple(hostseckeys), tuple(outputs), coordinator_output, recovery_data)
