"""The authenticator secret as a QR code and as text, both made here: nothing is fetched."""

from __future__ import annotations

import base64

import qrcode
from qrcode.image.svg import SvgPathImage


def qr_data_uri(text: str) -> str:
    """An SVG QR code of `text`, as a data: URI for an <img> (no markup of ours to trust)."""
    svg = qrcode.make(text, image_factory=SvgPathImage, border=2).to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def secret_for_typing(key: bytes) -> str:
    """The base32 secret authenticator apps ask for, in groups of four."""
    encoded = base64.b32encode(key).decode("ascii").rstrip("=")
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))
