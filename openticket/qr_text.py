"""A ticket code as a QR code drawn with half-block characters: two rows of modules per line
of text. Light modules (and the quiet zone around the code) are drawn, dark ones left blank,
so that on the usual dark terminal the code shows dark on light, as scanners expect."""

from __future__ import annotations

QUIET_ZONE = 2  # modules of light margin (scanners want some; 4 is the standard's)
_BLOCKS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def qr_lines(text: str) -> list[str]:
    import segno

    code = segno.make(text, error="m", micro=False)
    rows = [[not dark for dark in row] for row in code.matrix_iter(scale=1, border=QUIET_ZONE)]
    if len(rows) % 2:
        rows.append([True] * len(rows[0]))
    return [
        "".join(_BLOCKS[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    ]
