"""What the server and the app agree on outside the frames: discovery and certificates.

The server announces itself over mDNS/DNS-SD and the sign-in dialog lists what
it hears (``docs/protocol.md``, "Discovery and TLS"); a TLS server prints its
certificate's fingerprint and the app shows and pins the same string. Both
sides read these facts from here so they cannot disagree.
"""

from __future__ import annotations

import hashlib
import re

# The DNS-SD service type both sides use (zeroconf wants the ".local." suffix).
SERVICE_TYPE = "_chat-desktop._tcp.local."

# A SHA-256 fingerprint as shown to people: 32 upper-case hex pairs joined by ":".
FINGERPRINT_RE = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){31}")


def fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as ``AB:CD:...``.

    The form browsers and ``openssl x509 -fingerprint -sha256`` show, so a user
    can compare what ``chat-server`` printed with what the app shows.
    """
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
