"""QR codes of mobile keys, as SVG: the code holds exactly the token, nothing else."""

from __future__ import annotations

import io

import segno


def qr_svg(token: str) -> str:
    """Returns an SVG QR code whose content is exactly `token`."""
    # Byte mode keeps the token as it is; medium error correction survives a cracked screen.
    code = segno.make(token, error="m", mode="byte", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=4, xmldecl=False, svgns=True)
    return out.getvalue().decode()
