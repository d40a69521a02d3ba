"""TLS for the server: a self-signed certificate made on first start, and the SSL context.

``chat-server --tls`` calls :func:`ensure_self_signed` with its data folder: the
first time it makes a key and a self-signed certificate there, afterwards it
reuses them, so the fingerprint that clients pinned (trust on first use, see
``chat_desktop.transport.pinning``) stays the same across restarts.
:func:`load_server_context` turns the files (these, or a real certificate given
with ``--tls-cert``/``--tls-key``) into the :class:`ssl.SSLContext` that aiohttp
serves ``https://`` and ``wss://`` with, on the one port. :func:`fingerprint`
is what the server prints and advertises over DNS-SD, and what the client shows
the user to compare.

Clients trust a self-signed certificate by its fingerprint, not by its names,
so the names in it only matter to other tools (curl, a browser); a LAN address
that changes later (DHCP) does not break anything.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chat_protocol import lan

from .private import private_file, private_folder

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
# The certificate and key live in their own sub-folder of the data folder, so
# a backup that copies the database does not have to think about the key.
TLS_DIR = "tls"
# Long, like SSH host keys and Syncthing's certificates: the pin is the trust,
# and a renewal would make every client ask again.
VALIDITY = datetime.timedelta(days=20 * 365)


class TlsSetupError(Exception):
    """The certificate or key cannot be made or read; ``str()`` says which file and why."""


def fingerprint(certificate: bytes | str) -> str:
    """The SHA-256 fingerprint of a certificate (PEM text or DER bytes) as ``AB:CD:...``.

    The format is the protocol's (:func:`chat_protocol.lan.fingerprint`), so
    an operator can compare it with what the client displays.
    """
    if isinstance(certificate, str):
        certificate = certificate.encode("ascii")
    if certificate.lstrip().startswith(b"-----BEGIN"):
        certificate = x509.load_pem_x509_certificate(certificate).public_bytes(
            serialization.Encoding.DER
        )
    return lan.fingerprint(certificate)


def ensure_self_signed(
    data_dir: Path,
    *,
    hostnames: list[str] | None = None,
    addresses: list[str] | None = None,
) -> tuple[Path, Path]:
    """Return ``(cert_path, key_path)`` under ``data_dir/tls``, making them on first use.

    Existing files are reused as they are (never silently replaced: a new
    certificate would make every client refuse the server until its users
    accept the new fingerprint). ``hostnames``/``addresses`` default to this
    machine's name, ``localhost``, the loopback addresses and the LAN addresses
    the machine's name resolves to.
    """
    folder = Path(data_dir) / TLS_DIR
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if cert_path.exists() or key_path.exists():
        _check_pair(cert_path, key_path)
        # Made by an older version with a readable certificate: ours only now.
        private_folder(folder)
        private_file(cert_path)
        private_file(key_path)
        return cert_path, key_path
    try:
        private_folder(Path(data_dir))
        private_folder(folder)
    except OSError as error:
        raise TlsSetupError(f"Cannot create the folder {folder}: {error.strerror}.") from error
    names = hostnames if hostnames is not None else _default_hostnames()
    ips = addresses if addresses is not None else _default_addresses()
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _self_signed_certificate(key, names, ips)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key first: a certificate without its key would be a broken pair on
    # the next start, a key without a certificate is simply made again.
    _write_atomically(key_path, key_pem, mode=0o600)
    # The certificate is no secret, but nothing in the data folder is for others.
    _write_atomically(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o600)
    return cert_path, key_path


def prepare_tls(
    data_dir: Path, cert_path: Path | None = None, key_path: Path | None = None
) -> tuple[ssl.SSLContext, str]:
    """``(context, fingerprint)`` for ``--tls``: the given certificate, or the self-signed one.

    With ``cert_path`` and ``key_path`` (``--tls-cert``/``--tls-key``, a
    certificate from an authority) those are used; with neither, the
    self-signed pair in ``data_dir`` is made or reused. The fingerprint is the
    one to print and to advertise.
    """
    if (cert_path is None) != (key_path is None):
        raise TlsSetupError("--tls-cert and --tls-key go together: give both, or neither.")
    if cert_path is None or key_path is None:
        cert_path, key_path = ensure_self_signed(data_dir)
    return load_server_context(cert_path, key_path), certificate_fingerprint(cert_path)


def load_server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """An SSL context that serves ``cert_path``/``key_path`` (TLS 1.2 or newer)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path)
    except FileNotFoundError as error:
        raise TlsSetupError(f"The file {error.filename} does not exist.") from error
    except PermissionError as error:
        raise TlsSetupError(
            f"The file {error.filename} cannot be read: permission denied."
        ) from error
    except ssl.SSLError as error:
        raise TlsSetupError(
            f"The certificate {cert_path} and the key {key_path} do not form a valid pair "
            f"({error.reason or error})."
        ) from error
    return context


def certificate_fingerprint(cert_path: Path) -> str:
    """The fingerprint of the first certificate in a PEM file (what the server prints)."""
    try:
        return fingerprint(cert_path.read_bytes())
    except OSError as error:
        raise TlsSetupError(
            f"Cannot read the certificate {cert_path}: {error.strerror}."
        ) from error
    except ValueError as error:
        raise TlsSetupError(f"The file {cert_path} is not a PEM certificate.") from error


def _check_pair(cert_path: Path, key_path: Path) -> None:
    """Fail clearly when one file of the pair is missing or the two do not match."""
    for path in (cert_path, key_path):
        if not path.exists():
            raise TlsSetupError(
                f"{path} is missing while its partner exists; restore it from a backup, "
                f"or delete the folder {path.parent} to make a new certificate "
                "(clients will then ask to trust the new one)."
            )
    load_server_context(cert_path, key_path)


def _self_signed_certificate(
    key: ec.EllipticCurvePrivateKey, names: list[str], ips: list[str]
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "chat")])
    alternative: list[x509.GeneralName] = [x509.DNSName(name) for name in dict.fromkeys(names)]
    alternative += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in dict.fromkeys(ips)]
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # An hour back: a client whose clock is a little behind still accepts it.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        # A leaf, not a CA: the client makes this exact certificate its only
        # trust anchor (see pinning.py), and CA:FALSE keeps the key from
        # vouching for any other certificate.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _default_hostnames() -> list[str]:
    host = socket.gethostname()
    names = [host, "localhost"]
    if host and "." not in host:
        names.insert(1, f"{host}.local")
    return [name for name in names if _is_dns_name(name)]


def _default_addresses() -> list[str]:
    """Loopback plus the addresses this machine's name resolves to (cheap, no network)."""
    found = ["127.0.0.1", "::1"]
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return found
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            continue
        if not parsed.is_link_local and not parsed.is_unspecified:
            found.append(str(parsed))
    return list(dict.fromkeys(found))


def _is_dns_name(name: str) -> bool:
    try:
        x509.DNSName(name)
        name.encode("ascii")
    except (ValueError, UnicodeEncodeError):
        return False
    return bool(name)


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    The temporary file is created with ``mode`` from the start (mkstemp makes it
    0600, then chmod widens it when asked), so the key is never readable by
    others, not even for an instant.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
