"""The simulator-only upper-case commands: ``XKEY`` keypresses, ``EVAL`` and ``EXEC``.

The emulator cannot run MicroPython, so ``EVAL``/``EXEC`` recognise the idioms that
upstream tests and operator scripts send (settings get/set/put/save, counting enrolled
wallets, capturing the story on screen, removing the saved policy, leaving HSM mode,
fast-forwarding the velocity period, reading the pending local code). Anything else
gets the text of a Python-style exception back inside ``biny``, as a failing
expression does on the simulator.
"""

from __future__ import annotations

import ast
import re

from .hsm_mode import users_of

#: the firmware's setting for HSM users; the emulator keeps them in the engine's UserStore
USERS_KEY = "usr"
_SETTING_CALL = re.compile(r"^settings\.(set|put|get|remove_key|save)\((.*)\)$", re.S)


class NotEmulated(Exception):
    pass


def handle(dev, cmd: str, args: bytes):
    if cmd == "XKEY":
        try:
            key = args.decode("ascii")
        except UnicodeDecodeError:
            return None
        press(dev, key)
        return None
    if cmd in ("EVAL", "EXEC"):
        try:
            text = args.decode("utf-8")
            if cmd == "EVAL":
                return b"biny" + repr(evaluate(dev, text.strip())).encode()
            return b"biny" + execute(dev, text)
        except BaseException as exc:  # reported in-band, as the simulator does
            return b"biny" + ("Traceback (most recent call last):\n%s: %s\n" % (type(exc).__name__, exc)).encode()
    return b"err_Unknown SIMULATOR cmd"


def press(dev, key: str) -> None:
    if dev.hsm is not None and dev.hsm.on_key(key):
        return
    dev.approvals.press(key)


def _story_tuple(dev):
    story = dev.approvals.story
    if story is None:
        return None
    return (story.title, story.body)


def _literal_args(text: str) -> list:
    node = ast.parse("f(%s)" % text, mode="eval").body
    return [ast.literal_eval(a) for a in node.args]


def evaluate(dev, expr: str):
    expr = expr.strip()
    if expr in ("glob.hsm_active", "hsm_active"):
        return None if dev.hsm is None else _Opaque("<HSMPolicy>")
    if expr == "sim_display.story":
        return _story_tuple(dev)
    m = re.fullmatch(r"len\(settings\.get\((.*)\)\)", expr)
    if m:
        return len(_settings_get(dev, m.group(1)))
    m = _SETTING_CALL.match(expr)
    if m and m.group(1) == "get":
        return _settings_get(dev, m.group(2))
    if dev.hsm is not None and expr.startswith("hsm_active."):
        return dev.hsm.sim_attribute(expr[len("hsm_active."):])
    try:
        return ast.literal_eval(expr)
    except (ValueError, SyntaxError):
        raise NotEmulated("emulator cannot evaluate: %s" % expr) from None


class _Opaque:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _settings_get(dev, arg_text: str):
    args = _literal_args(arg_text)
    if args[0] == USERS_KEY:
        return users_of(dev).as_settings() or (args[1] if len(args) > 1 else None)
    return dev.state.get(args[0], args[1] if len(args) > 1 else None)


def _statements(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
        return [ast.get_source_segment(code, node) for node in tree.body]
    except SyntaxError:
        return [s.strip() for s in re.split(r"[;\n]", code) if s.strip()]


def execute(dev, code: str) -> bytes:
    out = bytearray()
    for stmt in _statements(code):
        stmt = stmt.strip()
        if not stmt or stmt.startswith(("import ", "from ")):
            continue
        _exec_one(dev, stmt, out)
    return bytes(out)


def _exec_one(dev, stmt: str, out: bytearray) -> None:
    m = _SETTING_CALL.match(stmt)
    if m:
        verb, arg_text = m.groups()
        if verb == "save":
            dev.state.save()
        elif verb in ("set", "put"):
            key, value = _literal_args(arg_text)
            if key == USERS_KEY:
                users_of(dev).replace_all(value)
                return
            dev.state.set(key, value)
            if verb == "set":
                dev.state.save()
        elif verb == "remove_key":
            key = _literal_args(arg_text)[0]
            if key == USERS_KEY:
                users_of(dev).replace_all({})
                return
            dev.state.remove(key)
            dev.state.save()
        return
    m = re.fullmatch(r"RV\.write\((.*)\)", stmt, re.S)
    if m:
        out += _write_value(dev, m.group(1).strip())
        return
    if re.fullmatch(r"(uos|os)\.remove\(hsm\.POLICY_FNAME\)", stmt):
        dev.state.remove_policy()
        return
    if re.fullmatch(r"(hsm_ux\.)?hsm_ux_obj\.test_restart\s*=\s*True", stmt):
        dev.hsm = None
        return
    m = re.fullmatch(r"(?:glob\.)?hsm_active\.period_started\s*-=\s*(\d+(?:\.\d+)?)", stmt)
    if m:
        if dev.hsm is None:
            raise AttributeError("'NoneType' object has no attribute 'period_started'")
        dev.hsm.fast_forward(float(m.group(1)))
        return
    if re.fullmatch(r"sim_display\.story\s*=\s*None", stmt):
        dev.approvals.idle_story = None
        return
    raise NotEmulated("emulator cannot run: %s" % stmt)


def _write_value(dev, expr: str) -> bytes:
    m = re.fullmatch(r"""(['"])\\0\1\.join\(sim_display\.story(?: or \[\])?\)(?:\[(\d{0,9}):(\d{0,9})\])?""", expr, re.ASCII)
    if m:
        story = _story_tuple(dev) or ()
        text = "\0".join(story).encode()
        lo = int(m.group(2)) if m.group(2) else 0
        hi = int(m.group(3)) if m.group(3) else len(text)
        return text[lo:hi]
    if expr == "repr(sim_display.story)":
        return repr(_story_tuple(dev)).encode()
    if expr in ("hsm_active.local_code_pending", "glob.hsm_active.local_code_pending"):
        if dev.hsm is None:
            raise AttributeError("'NoneType' object has no attribute 'local_code_pending'")
        return str(dev.hsm.sim_attribute("local_code_pending") or "").encode()
    m = re.fullmatch(r"str\((.*)\)", expr, re.S)
    if m:
        return str(evaluate(dev, m.group(1))).encode()
    m = re.fullmatch(r"repr\((.*)\)", expr, re.S)
    if m:
        return repr(evaluate(dev, m.group(1))).encode()
    value = evaluate(dev, expr)
    return value if isinstance(value, bytes) else str(value).encode()
