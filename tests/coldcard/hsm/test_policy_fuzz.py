"""Any JSON document either validates or fails with HsmPolicyError: never a crash."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from backends.coldcard.hsm import HsmPolicy, HsmPolicyError

FIELDS = ["must_log", "never_log", "msg_paths", "share_xpubs", "share_addrs", "notes", "period",
          "allow_sl", "set_sl", "boot_to_hsm", "priv_over_ux", "warnings_ok", "rules"]  # fmt: skip
RULE_FIELDS = ["per_period", "max_amount", "users", "min_users", "local_conf", "whitelist",
               "whitelist_opts", "wallet", "min_pct_self_transfer", "patterns"]  # fmt: skip

scalars = st.none() | st.booleans() | st.integers(-10, 10**16) | st.floats(allow_nan=False) | st.text(max_size=8)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
rules = st.lists(st.dictionaries(st.sampled_from(RULE_FIELDS), values, max_size=4) | values, max_size=3)
policies = st.fixed_dictionaries({}, optional={name: values for name in FIELDS} | {"rules": rules})


@settings(max_examples=300, deadline=None)
@given(policies)
@example({"rules": [{"patterns": [[1]]}]})
@example({"rules": [{"users": [[1]], "min_users": 1}]})
@example({"rules": [{"whitelist": [[1]]}]})
@example({"msg_paths": [[1]], "share_addrs": [None]})
@example({"rules": [{"whitelist_opts": {"mode": 5}, "whitelist": ["1ByzQTr5TCkMW9RH1fkD7QtnMbErffDeUo"]}]})
@example({"rules": [{"max_amount": float("inf")}], "period": "x", "notes": []})
def test_validation_never_crashes(policy):
    for users in (None, ["totp", "pw"]):
        try:
            parsed = HsmPolicy.from_json(policy, users=users, wallets=["w"])
        except HsmPolicyError as exc:
            assert str(exc)
            continue
        # whatever validates can be saved, hashed and loaded back the same
        assert HsmPolicy.from_json(parsed.to_json()).hash() == parsed.hash()
