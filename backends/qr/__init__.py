"""QR codes for moving data on and off air-gapped machines.

Owns: turning a payload into QR modules (:func:`qr_matrix`), drawing them as terminal
half-block text (:func:`half_block_lines`, dark-on-light) and as PNG/SVG files written
with the standard library, and BBQr — Coinkite's multi-part format — for payloads larger
than one code (:func:`bbqr_split`, :func:`bbqr_join`, :class:`BBQrCollector` for
scanning). No state on disk beyond the image files it is asked to write.
"""

from backends.qr.bbqr import (
    ENCODINGS,
    FILE_TYPES,
    MAX_PARTS,
    BBQrPart,
    BBQrSeries,
    bbqr_series,
    bbqr_split,
    is_bbqr,
    parse_part,
)
from backends.qr.collector import BBQrCollector, BBQrProgress, bbqr_join
from backends.qr.errors import (
    BBQrConflictingParts,
    BBQrError,
    BBQrMalformedPart,
    BBQrMissingParts,
    BBQrMixedParts,
    PayloadTooLarge,
    QrError,
)
from backends.qr.halfblock import half_block_lines, matrix_from_half_blocks
from backends.qr.matrix import Matrix, alphanumeric_capacity, qr_matrix
from backends.qr.png import export_png
from backends.qr.svg import export_svg

__all__ = [
    "ENCODINGS",
    "FILE_TYPES",
    "MAX_PARTS",
    "BBQrCollector",
    "BBQrConflictingParts",
    "BBQrError",
    "BBQrMalformedPart",
    "BBQrMissingParts",
    "BBQrMixedParts",
    "BBQrPart",
    "BBQrProgress",
    "BBQrSeries",
    "Matrix",
    "PayloadTooLarge",
    "QrError",
    "alphanumeric_capacity",
    "bbqr_join",
    "bbqr_series",
    "bbqr_split",
    "export_png",
    "export_svg",
    "half_block_lines",
    "is_bbqr",
    "matrix_from_half_blocks",
    "parse_part",
    "qr_matrix",
]
