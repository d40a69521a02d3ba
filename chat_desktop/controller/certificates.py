"""CertificateChecks: what happens after the link refused an https server's certificate.

The link verifies the server's certificate during the TLS handshake, before
it sends anything (no token, no message). When verification fails (the
server shows another certificate than the pinned one, or one no authority
vouches for) the link stops in state CERTIFICATE_REFUSED, and retrying alone
cannot help. :class:`CertificateChecks` then:

1. closes the refused link (freeing its HTTP session) and asks the server
   which certificate it shows now
   (:func:`~chat_desktop.transport.pinning.check_server`);
2. a new or changed certificate becomes a
   :class:`~.entries.CertificateProblem` with both fingerprints, reported
   through ``on_problem`` for the user to compare and decide; only the user's
   explicit :meth:`CertificateChecks.accept` pins exactly that certificate and
   starts a new link trusting it;
3. with nothing to decide (the server went away meanwhile, or shows a trusted
   certificate again), ``on_problem(None)`` and, :data:`CERTIFICATE_RECHECK`
   seconds later (not at once, so that a server that keeps changing its mind
   cannot make the two loop), a new link is started.

Plain asyncio; it restarts links through the :class:`~.connection.Connection`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from chat_desktop.transport.pinning import (
    CertificateCheckError,
    Mismatch,
    NeedsTrust,
    PinnedCertificate,
    PinStore,
    check_server,
    client_context_for,
    pin_key,
    server_address,
)

from .connection import Connection
from .entries import CertificateProblem

log = logging.getLogger(__name__)

# After a refused certificate whose check found nothing for the user to decide:
# a new link is tried after this many seconds (the default of
# CertificateChecks(recheck=...); tests pass a shorter one).
CERTIFICATE_RECHECK = 3.0


@dataclass(frozen=True, slots=True)
class _PendingCertificate:
    """The certificate shown in a CertificateProblem: what accept() pins."""

    host: str
    port: int
    certificate: PinnedCertificate


class CertificateChecks:
    """Re-checks of a refused certificate, and the user's answer to them.

    ``pins`` are the certificates the user trusted (shared with the sign-in
    dialog); None: a refused certificate is only reported in the status.
    ``on_problem`` hears the open question, or None once it is resolved.
    """

    def __init__(
        self,
        connection: Connection,
        pins: PinStore | None,
        *,
        on_problem: Callable[[CertificateProblem | None], None],
        recheck: float = CERTIFICATE_RECHECK,
    ) -> None:
        self._connection = connection
        self._pins = pins
        # Seconds before a certificate that now checks out is tried again.
        self._recheck = recheck
        self._on_problem = on_problem
        # The certificate the open CertificateProblem showed; None when none is open.
        self._pending: _PendingCertificate | None = None
        # True while check_server runs (a second request is dropped: the running one answers).
        self._checking = False

    @property
    def problem(self) -> CertificateProblem | None:
        """The open certificate question, if any."""
        return None if self._pending is None else self._problem_of(self._pending)

    def accept(self) -> None:
        """Pin the certificate of the open problem and reconnect trusting it.

        Pins exactly the certificate whose fingerprint was shown; should the
        server show yet another one, the new link is refused again.
        """
        pending, self._pending = self._pending, None
        if pending is None or self._pins is None or self._connection.closed:
            return
        self._pins.pin(pending.host, pending.port, pending.certificate)
        self._on_problem(None)
        self._connection.restart(client_context_for(pending.certificate))

    async def check(self) -> None:
        """The link refused the server's certificate: find out which one it shows now."""
        connection = self._connection
        if self._checking or self._pins is None:
            return
        if not connection.server_url.startswith("https://"):
            return
        self._checking = True
        refused = connection.link
        try:
            if refused is not None:
                # The link stopped by itself; closing it frees its HTTP session.
                await refused.close()
            host, port = server_address(connection.server_url)
            try:
                result = await check_server(host, port, self._pins)
            except CertificateCheckError as exc:
                log.info("could not check the certificate again: %s", exc)
                result = None
        finally:
            self._checking = False
        if connection.closed or connection.link is not refused:
            # The user trusted the certificate meanwhile: a new link is on its way.
            return
        if isinstance(result, Mismatch | NeedsTrust):
            self._pending = _PendingCertificate(host, port, result.certificate)
            self._on_problem(self._problem_of(self._pending))
            return
        self._pending = None
        self._on_problem(None)
        await asyncio.sleep(self._recheck)
        if connection.link is refused and not connection.closed:
            context = result.context() if result is not None else connection.ssl_context
            connection.restart(context)

    def _problem_of(self, pending: _PendingCertificate) -> CertificateProblem:
        pinned = self._pins.get(pending.host, pending.port) if self._pins is not None else None
        return CertificateProblem(
            where=pin_key(pending.host, pending.port),
            presented=pending.certificate.fingerprint,
            pinned=pinned.fingerprint if pinned is not None else "",
        )
