"""The firmware's words, in one place: clients match on them, so they are byte for byte.

Taken from Coldcard firmware tag ``2025-11-03T1527-v5.4.5`` (``shared/hsm.py``,
``hsm_ux.py``, ``users.py``, ``utils.py``), the version the official simulator runs and
the project's reference. Where ``master`` words a message differently it is noted.
The ``WHERE_*`` values are the ``file.py:line`` the device puts in policy errors
(``HSM Policy invalid: <where>: <reason>``); they are the raising lines in v5.4.5.
"""

# -- policy validation (hsm.py) ------------------------------------------------------
NEED_LIST = "need a list for: {field}"
WHERE_NEED_LIST = "hsm.py:84"
INVALID_PATH = "{field}: invalid path ({path})"
WHERE_INVALID_PATH = "hsm.py:101"
WHERE_PATH_NOT_TEXT = "hsm.py:96"  # a path that is not a string fails at .lower()
MUST_BE_INTEGER = "{field}: must be integer"
WHERE_MUST_BE_INTEGER = "hsm.py:109"
CANNOT_BE_SPECIFIED = "{field}: cannot be specified"
WHERE_CANNOT_BE_SPECIFIED = "hsm.py:111"
INT_RANGE = "{field}: must be in range: [{low}..{high}]"
WHERE_INT_RANGE = "hsm.py:112"
MUST_BE_FLOAT = "{field}: must be float"
WHERE_MUST_BE_FLOAT = "hsm.py:119"
WHERE_FLOAT_RANGE = "hsm.py:121"
MUST_BE_STRING = "{field}: must be string"
WHERE_MUST_BE_STRING = "hsm.py:131"
STRING_LENGTH = "{field}: length must be {low}..{high}"
WHERE_STRING_LENGTH = "hsm.py:132"
MUST_BE_DICT = "{field}: must be dict"
WHERE_MUST_BE_DICT = "hsm.py:141"
UNKNOWN_ITEM = "Unknown item: {items}"
WHERE_UNKNOWN_ITEM = "hsm.py:150"
INVALID_WHITELIST_MODE = "invalid whitelist mode: {mode}"
WHERE_INVALID_WHITELIST_MODE = "hsm.py:157"
UNKNOWN_USER = "Unknown user: {user}"
WHERE_UNKNOWN_USER = "hsm.py:195"
DUP_USERS = "dup users"
WHERE_DUP_USERS = "hsm.py:210"
WHITELIST_OPTS_ALONE = "whitelist options present with no whitelist"
WHERE_WHITELIST_OPTS_ALONE = "hsm.py:214"
UNKNOWN_MS_WALLET = "unknown MS wallet: {name}"
#: master's wording of the same check (names must also be unique there)
UNKNOWN_MS_WALLET_MASTER = "unknown or ambiguous MS wallet: {name}"
WHERE_UNKNOWN_MS_WALLET = "hsm.py:226"
UNKNOWN_PATTERN = "unknown pattern: {pattern}"
WHERE_UNKNOWN_PATTERN = "hsm.py:230"
LOG_CONFLICT = "log conflict"
WHERE_LOG_CONFLICT = "hsm.py:484"
NEED_ALLOW_SL = "need allow_sl>=1"
WHERE_NEED_ALLOW_SL = "hsm.py:506"
NEEDS_PERIOD = "Needs period to be specified"
WHERE_NEEDS_PERIOD = "hsm.py:517"
# (utils.py) a whitelist entry that is neither base58check nor segwit
BAD_ADDRESS = "bad address value: {address}"
WHERE_BAD_ADDRESS = "utils.py:719"
# (hsm_ux.py)
JSON_PARSE_FAIL = "JSON parse fail"
WHERE_JSON_PARSE_FAIL = "hsm_ux.py:112"
NO_EXISTING_POLICY = "No existing policy"  # reported bare, without the prefix
# MicroPython's own words for conversions a policy value can trip over
MPY_INT_SYNTAX = "invalid syntax for integer with base 10"
MPY_FLOAT_SYNTAX = "invalid syntax for number"
MPY_CANT_CONVERT = "can't convert {type} to {to}"
MPY_DIVIDE_BY_ZERO = "divide by zero"
MPY_NO_LOWER = "'{type}' object has no attribute 'lower'"

# -- transaction evaluation (hsm.py approve_transaction / ApprovalRule) ----------------
REJECTED = "Rejected: {reason}"
RULE_REASON = "rule #{index}: {reason}"
COULD_NOT_LOG = "Could not log details, and must_log is set"
NO_TXN_SIGNING = "no txn signing allowed"
HAS_WARNINGS = "has {count} warning(s)"
WRONG_AUTH = "User '{user}' gave wrong auth value: {problem}"
ACCEPTABLE_BY_RULE = "Acceptable by rule #{index}"
WRONG_WALLET = "wrong wallet"
NOT_MULTISIG = "not multisig"
AMOUNT_EXCEEDED = "amount exceeded"
NON_WHITELISTED = "non-whitelisted address: {address}"
MISSING_ATTESTATION = "missing attestation for output {index}"
NON_WHITELISTED_ATTESTATION = "non-whitelisted attestation key for output {index}"
SIGNATURE_LENGTH = "signature length"
UNSUPPORTED_RECOVERY_ID = "unsupported recovery id: {v}"
INVALID_SIGNATURE = "invalid signature"
LOCAL_NOT_CONFIRMED = "local operator didn't confirm"
NEED_USERS = "need user(s) confirmation"
NEED_MORE_USERS = "need more users to confirm (got {got} of {need})"
WOULD_EXCEED_PERIOD = "would exceed period spending"
SELF_TRANSFER = (
    "does not meet self transfer threshold, expected: {expected:.2f}, actual: {actual:.2f}"
)
UNEQUAL_INS_OUTS = "unequal number of inputs and outputs"
UNEQUAL_OWN_INS_OUTS = "unequal number of own inputs and outputs"
UNEQUAL_AMOUNTS = "not all output amounts are equal"

# -- message signing and data sharing -----------------------------------------------
MSG_NOT_PERMITTED = "Message signing not permitted"
MSG_PATH_NOT_ENABLED = "Message signing not enabled for that path"
MSG_ALLOWED = "Message signing allowed"

# -- requests answered with err_ (hsm.py, usb.py) -------------------------------------
SL_NOT_ALLOWED = "not allowed"
SL_CONSUMED = "consumed"
AUTH_BADLEN = "badlen"
AUTH_TOOMANY = "toomany"

# -- users.py ------------------------------------------------------------------------
USER_BADLEN = "badlen"
USER_RESERVED = "reserved"
USER_EXISTS = "exists"
USER_TOO_MANY = "too many"
#: bare ``assert``s the device reports as ``Assertion <file:line>``
USER_QR_WITH_SECRET = "Assertion users.py:118"
USER_BAD_MODE = "Assertion users.py:120"
USER_BAD_HMAC_SECRET = "Assertion users.py:138"
USER_BAD_OTP_SECRET = "Assertion users.py:140"
# problems returned by Users.auth_okay ('' means good)
AUTH_UNKNOWN_USER = "unknown user"
AUTH_MISMATCH = "mismatch"
AUTH_EXPECT_OTP = "expect otp"
AUTH_RANGE = "range"
AUTH_REPLAY = "replay"

# -- paths (utils.py cleanup_deriv_path) ------------------------------------------------
PATH_NOT_ASCII = "must be ascii printable"
PATH_BAD_CHARS = "invalid characters in path"
PATH_TOO_DEEP = "too deep"
PATH_EMPTY_COMPONENT = "empty path component"
PATH_BAD_WILDCARD = "bad wildcard"
PATH_BAD_COMPONENT = "bad component: {part}"

# -- the approval story (hsm_ux.py) ---------------------------------------------------
START_TITLE = "Start HSM?"
PRESS_OK = "\n\nPress OK to enable HSM mode."
LAST_CHANCE = (
    "Last chance. You are defining a new policy which allows the Coldcard to sign "
    "specific transactions without any further user approval.\n\n"
    "Policy hash:\n{hash}\n\n\nPress {key} to save policy and enable HSM mode."
)
