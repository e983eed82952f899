"""``ceremony export --qr`` and ``ceremony import --bbqr``: a ceremony file across an air
gap as BBQr codes (PNG or SVG images to show or print, or the parts as text lines), and
back from the parts a scanner read."""

from __future__ import annotations

from pathlib import Path

from ..services import Services
from .common import UsageError

#: parts of one ceremony file fit in far less; a bigger file is not one
MAX_PARTS_FILE_BYTES = 16 * 1024 * 1024


def export_qr(args, services: Services) -> int:
    from backends.ceremony import transfer_qr
    from backends.qr import export_png, export_svg

    from .ceremony import opened

    if args.qr != "text" and (args.out is None or not args.out.expanduser().is_dir()):
        raise UsageError("--qr png|svg writes one image per part into a directory: give --out DIR (existing)")
    if args.file is not None:
        raise UsageError("--qr writes QR codes, not a ceremony file: drop FILE")
    with opened(args, services, unlock=False) as node:
        row = node.find(args.id)
        with services.audited("ceremony", "export", node=node.name, ceremony=row.id, qr=args.qr,
                              out=str(args.out) if args.out else None) as result:
            parts = transfer_qr.export_parts(node, row.id)
            result["parts"] = len(parts)
            if args.qr == "text":
                print("\n".join(parts))
                return 0
            export = export_png if args.qr == "png" else export_svg
            out = args.out.expanduser()
            written = [export(part, out / f"{row.id[:12]}-{i:02d}-of-{len(parts):02d}.{args.qr}", make_parents=False)
                       for i, part in enumerate(parts, 1)]
    for path in written:
        print(path)
    print(f"{len(parts)} QR code(s) for ceremony {row.id}: show them in order (or cycle them); "
          "the other side imports the scanned parts with `ceremony import --bbqr FILE`")
    return 0


def bundle_of_parts_file(path: Path) -> bytes:
    """The ceremony file joined from a file of scanned parts (MessageRefused if they are not one)."""
    from backends.ceremony import transfer_qr

    with open(path, "rb") as handle:
        raw = handle.read(MAX_PARTS_FILE_BYTES + 1)
    if len(raw) > MAX_PARTS_FILE_BYTES:
        raise UsageError(f"{path} is larger than the QR parts of a ceremony file can be")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not BBQr text", hint="give the parts as scanned, one per line") from None
    return transfer_qr.bundle_from_parts(transfer_qr.parts_of_text(text))
