"""The "OK TO SEND?" story of a transaction, laid out as ``auth.ApproveTransaction`` does.

Warning count, amount sent (or consolidated) and fee, the input and output counts, the
ten largest payments and twenty largest change outputs, then the warnings. Addresses are
preceded by the firmware's address marker (``\\x02``), which a visualisation replaces
with a space. The HSM audit log gets the story without the closing prompt. Not shown:
the locktime notes (``TX LOCKTIMES``).
"""

from __future__ import annotations

from .outputs import OutputInfo, Template

ADDRESS_MARK = "\x02"  # charcodes.OUT_CTRL_ADDRESS
MAX_VISIBLE_OUTPUTS = 10
MAX_VISIBLE_CHANGE = 20
PROMPT = "Press OK to approve and sign transaction. Press (2) to explore txn outputs. X to abort."


def render_value(sats: int, chain: str) -> str:
    return "%d.%08d %s" % (sats // 100_000_000, sats % 100_000_000, chain)


def approval_story(analysis, chain: str, *, prompt: bool = True) -> str:
    parts = []
    count = len(analysis.warnings)
    if count:
        parts.append("(1 warning below)\n\n" if count == 1 else "(%d warnings below)\n\n" % count)
    change_total = sum(o.amount_sat for o in analysis.outputs if o.is_change)
    if analysis.consolidation:
        parts.append("Consolidating %s\nwithin wallet.\n\n" % render_value(analysis.total_out, chain))
    else:
        parts.append("Sending %s\n" % render_value(analysis.total_out - change_total, chain))
    if analysis.fee is not None:
        parts.append("Network fee %s\n\n" % render_value(analysis.fee, chain))
    n_in, n_out = len(analysis.inputs), len(analysis.outputs)
    parts.append(" %d %s\n %d %s\n\n" % (n_in, "input" if n_in == 1 else "inputs",
                                         n_out, "output" if n_out == 1 else "outputs"))
    parts.append(_outputs_summary(analysis.outputs, chain))
    if analysis.warnings:
        parts.append("---WARNING---\n\n")
        parts.extend("- %s: %s\n\n" % (label, text) for label, text in analysis.warnings)
    if prompt:
        parts.append(PROMPT)
    return "".join(parts)


def _largest(outputs: list[OutputInfo], limit: int) -> list[OutputInfo]:
    """The firmware's pick: the first ``limit`` in order, re-sorted by value once the list is
    full, then each larger later output inserted before the first smaller one."""
    chosen: list[OutputInfo] = []
    for out in outputs:
        if len(chosen) < limit:
            chosen.append(out)
            if len(chosen) == limit:
                chosen.sort(key=lambda o: o.amount_sat, reverse=True)
            continue
        at = next((i for i, o in enumerate(chosen) if out.amount_sat > o.amount_sat), None)
        if at is not None:
            chosen.pop()
            chosen.insert(at, out)
    return chosen


def _outputs_summary(outputs: list[OutputInfo], chain: str) -> str:
    parts = []
    payments = [o for o in outputs if not o.is_change]
    shown = _largest(payments, MAX_VISIBLE_OUTPUTS)
    parts.extend(_render_output(o, chain) + "\n" for o in shown)
    if len(payments) > len(shown):
        rest = sum(o.amount_sat for o in payments) - sum(o.amount_sat for o in shown)
        parts.append(".. plus %d smaller output(s), not shown here, which total: %s\n\n"
                     % (len(payments) - len(shown), render_value(rest, chain)))
    change = [o for o in outputs if o.is_change]
    if change:
        change_total = sum(o.amount_sat for o in change)
        parts.append("Change back:\n%s\n" % render_value(change_total, chain))
        visible = _largest(change, MAX_VISIBLE_CHANGE)
        if len(visible) == 1:
            parts.append(" - to address -\n%s%s\n\n" % (ADDRESS_MARK, visible[0].address))
        else:
            parts.append(" - to addresses -\n")
            parts.extend("%s%s\n\n" % (ADDRESS_MARK, o.address) for o in visible)
        if len(change) > len(visible):
            rest = change_total - sum(o.amount_sat for o in visible)
            parts.append(".. plus %d smaller change output(s), not shown here, which total: %s\n\n"
                         % (len(change) - len(visible), render_value(rest, chain)))
    return "".join(parts)


def _render_output(out: OutputInfo, chain: str) -> str:
    value = render_value(out.amount_sat, chain)
    if out.template is Template.OP_RETURN:
        data = op_return_data(out.script)
        if not data:
            return "%s\n - OP_RETURN -\nnull-data\n" % value
        if len(data) > 160:
            shown = data[:80].hex() + "\n \u22ef\n" + data[-80:].hex()
        else:
            shown = data.hex()
            if min(data) >= 32 and max(data) < 127:
                shown += " (ascii: %s)" % data.decode("ascii")
        return "%s\n - OP_RETURN -\n%s\n" % (value, shown)
    if out.address == out.script.hex():
        return "%s\n - to script -\n%s\n" % (value, out.address)
    return "%s\n - to address -\n%s%s\n" % (value, ADDRESS_MARK, out.address)


def op_return_data(script: bytes) -> bytes:
    """The data of the first push after OP_RETURN (empty if there is none)."""
    if len(script) < 2:
        return b""
    op, at = script[1], 2
    if 0x01 <= op <= 0x4B:
        size = op
    elif op in (0x4C, 0x4D, 0x4E):
        width = {0x4C: 1, 0x4D: 2, 0x4E: 4}[op]
        size, at = int.from_bytes(script[at : at + width], "little"), at + width
    else:
        return b""
    return script[at : at + size]
