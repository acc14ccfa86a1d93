"""Test certificates: one ``trustme`` CA per :class:`TestPKI`, a server certificate for
``127.0.0.1``/``localhost``, and the CA bundle written to a file that clients are told to trust.

Clients are pointed at the bundle explicitly (kubeconfig ``certificate-authority-data``, Azure SDK
``connection_verify=pki.ca_path``); nothing here touches ``REQUESTS_CA_BUNDLE`` or other globals.
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import ssl
import tempfile

import trustme

__all__ = ["TestPKI"]


class TestPKI:
    __test__ = False  # not a pytest test class

    def __init__(self, hostnames: tuple[str, ...] = ("127.0.0.1", "localhost"), directory: str | None = None) -> None:
        self.ca = trustme.CA(organization_name="wi-migrator test CA")
        self.cert = self.ca.issue_cert(*hostnames)
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="wi-migrator-pki-")
        self.ca_pem: bytes = self.ca.cert_pem.bytes()
        self.ca_path = os.path.join(self.directory, "ca.pem")
        with open(self.ca_path, "wb") as fh:
            fh.write(self.ca_pem)
        if self._own_dir:
            atexit.register(shutil.rmtree, self.directory, True)

    @property
    def ca_data_b64(self) -> str:
        """The CA as kubeconfig ``certificate-authority-data`` (base64 of the PEM)."""
        return base64.b64encode(self.ca_pem).decode()

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx

    def cleanup(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
