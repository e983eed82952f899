"""The one error family of threshold signing and key generation.

Every error names *which check* failed and, where a participant is to blame, *who*
(a participant or signer index, or the coordinator). None carries secret material:
messages are built from indices, lengths and check names only.
"""

from __future__ import annotations

from backends.errors import CustodyError


class MpcError(CustodyError):
    """A threshold-signing input or contribution was refused.

    ``check`` is a short stable name of the failed check (tests and callers match on it);
    ``participant`` is the blamed participant's index when one is to blame, else None.
    """

    check: str = "mpc"
    participant: int | None = None

    def __init__(self, message: str, *, check: str, participant: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.check = check
        self.participant = participant

    def __repr__(self) -> str:
        return f"{type(self).__name__}(check={self.check!r}, participant={self.participant!r})"


class InvalidInputError(MpcError):
    """Our own input is malformed or inconsistent (the spec's plain 'fail')."""


class InvalidContributionError(MpcError):
    """Another party sent something invalid; ``participant`` names them (None: the coordinator).

    ``contrib`` names what was bad, in the spec's words (``pubnonce``, ``aggnonce``, ``psig``, ...).
    """

    def __init__(self, participant: int | None, contrib: str, reason: str) -> None:
        who = "the coordinator" if participant is None else f"participant {participant}"
        super().__init__(f"invalid {contrib} from {who}: {reason}", check=contrib, participant=participant)
        self.contrib = contrib


class NonceReuseError(MpcError):
    """A secret nonce was offered to signing a second time."""

    def __init__(self) -> None:
        super().__init__(
            "this secret nonce was already used to sign; signing again with it would reveal the key share",
            check="secnonce_reuse",
            hint="start a new signing round with a fresh nonce",
        )


# --- ChillDKG (chilldkg-bip.md "API Documentation"): the spec's exception names ---------


class HostSeckeyError(InvalidInputError):
    """The host secret key is out of range or does not match the session's host public keys."""

    def __init__(self, reason: str = "the host secret key is invalid") -> None:
        super().__init__(reason, check="hostseckey")


class SessionParamsError(InvalidInputError):
    """The session parameters (ordered host public keys, threshold) are invalid."""


class ThresholdOrCountError(SessionParamsError):
    def __init__(self) -> None:
        super().__init__("the threshold t and the number of participants n must satisfy 1 <= t <= n < 2^32",
                         check="threshold_or_count")


class InvalidHostPubkeyError(SessionParamsError):
    def __init__(self, participant_id: int) -> None:
        super().__init__(f"the host public key of participant {participant_id} is not a valid point",
                         check="hostpubkey_invalid", participant=participant_id)


class DuplicateHostPubkeyError(SessionParamsError):
    def __init__(self, participant_id1: int, participant_id2: int) -> None:
        super().__init__(f"participants {participant_id1} and {participant_id2} have the same host public key",
                         check="hostpubkey_duplicate", participant=participant_id2)
        self.participant_id1 = participant_id1
        self.participant_id2 = participant_id2


class RandomnessError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__("the randomness for this session is all zeros: the random source is broken",
                         check="randomness")


class RecoveryDataError(InvalidInputError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, check="recovery_data")


class ProtocolError(MpcError):
    """A received protocol message shows that some party deviated from ChillDKG."""


class FaultyParticipantError(ProtocolError):
    """Raised by the coordinator: this participant is faulty (proven, if messages arrived intact)."""

    def __init__(self, participant_id: int, reason: str, check: str = "participant_msg") -> None:
        super().__init__(f"participant {participant_id} is faulty: {reason}", check=check, participant=participant_id)


class InvalidRecoveryAckError(FaultyParticipantError):
    def __init__(self, participant_id: int) -> None:
        super().__init__(participant_id, "invalid recovery acknowledgment", check="recovery_ack")


class FaultyParticipantOrCoordinatorError(ProtocolError):
    """Raised by a participant: this participant, or a coordinator framing them, is faulty."""

    def __init__(self, participant_id: int, reason: str, check: str) -> None:
        super().__init__(f"participant {participant_id} or the coordinator is faulty: {reason}",
                         check=check, participant=participant_id)


class FaultyCoordinatorError(ProtocolError):
    def __init__(self, reason: str, check: str) -> None:
        super().__init__(f"the coordinator is faulty: {reason}", check=check)


class UnknownFaultyParticipantOrCoordinatorError(ProtocolError):
    """Some participant (unknown yet) or the coordinator sent a bad share.

    ``inv_data`` holds what ``participant_investigate`` needs. It contains this participant's
    share material, so it is kept out of the message and repr; never log or persist it.
    """

    def __init__(self, inv_data: object) -> None:
        super().__init__(
            "received an invalid secret share; run the investigation to find the faulty participant",
            check="secshare_invalid",
        )
        self.inv_data = inv_data
