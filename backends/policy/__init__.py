"""HSM policy operations over the signer quorum: what the operator edits, validates,
compares, pushes and audits. It never imports textual, and it decides nothing the
firmware decides: validation and the policy hash are the HSM engine's
(``backends.coldcard.hsm``), arming and verification are the quorum's
(``backends.quorum``). One concern per module:

- ``document``: read a policy file within bounds; ``check_policy`` (the firmware's rules
  and words, then whitelist addresses of the configured network); ``policy_hash``;
- ``tiers``: ``TwoTierPolicy`` (automated tier + TOTP surge tier) to and from HSM rules,
  and the editor's form;
- ``diff``: ``field_changes`` against the last pushed version, ``armed_policies`` per signer;
- ``history``: ``PolicyHistory``, every pushed version in ``DATA_DIR/policy.sqlite3``; the
  newest is the intended policy the coordinator verifies against;
- ``overview``: the intended policy and each signer's, a proposed policy's diff (CLI and screen);
- ``push``: ``push_policy`` and ``authorize_destination`` with per-device events;
- ``totp``: ``enroll_totp``, the surge tier's owner on every signer.
"""

from importlib import import_module

_WHERE = {
    "FieldChange": "diff", "SignerPolicy": "diff", "armed_policies": "diff", "field_changes": "diff", "masked": "diff",
    "check_policy": "document", "parse_policy": "document", "policy_hash": "document",
    "read_policy_file": "document",
    "EnrolmentError": "errors", "NotTwoTier": "errors", "PolicyError": "errors", "PolicyFileError": "errors",
    "PushFailed": "errors", "WrongNetworkAddress": "errors",
    "Overview": "overview", "ProposedDiff": "overview", "diff_proposed": "overview", "policy_overview": "overview",
    "PolicyHistory": "history", "PolicyVersion": "history",
    "PushResult": "push", "SignerOutcome": "push", "SignerProgress": "push",
    "authorize_destination": "push", "push_policy": "push",
    "FORM_FIELDS": "tiers", "FORM_FLAGS": "tiers", "Tier": "tiers", "TwoTierPolicy": "tiers",
    "from_form": "tiers", "to_form": "tiers",
    "Enrolment": "totp", "enroll_totp": "totp", "keystore_label": "totp",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_WHERE)
