"""Servers on 127.0.0.1 for the download tests: a site whose replies go wrong in chosen ways
(over HTTP, or HTTPS with a self-signed certificate made here), a forwarding proxy, a closed
port, and a guard that lets sockets reach 127.0.0.1 only."""
import contextlib
import http.server
import socket
import ssl
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest

REAL_CONNECT = socket.socket.connect  # saved at import, before conftest's offline fixture replaces it
REAL_CREATE_CONNECTION = socket.create_connection
HTML = b"<!DOCTYPE html><html><head><title>Sign in to the Wi-Fi</title></head><body>Welcome</body></html>\n"


def self_signed_certificate(folder: Path, host: str) -> tuple[Path, Path]:
    """(certificate, key) files for `host`, made with the openssl command: a self-signed
    certificate, which a client trusts only when told to (SSL_CERT_FILE, or an SSL context)."""
    cert, key = Path(folder) / f"{host}.crt", Path(folder) / f"{host}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName=DNS:{host}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def serving(handler_class, port: int = 0, tls=None):
    """A threaded HTTP server on 127.0.0.1 (a free port by default) for the duration; yields the
    server. tls: (certificate, key) files to serve HTTPS with."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler_class)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        # the handshake happens in the handler's thread, so a client that gives up does not block accept()
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.daemon_threads = True
    server.release = threading.Event()  # set on exit: stalled replies end
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


class Site:
    """A site on 127.0.0.1. routes: path -> (kind, body); kinds:
    "ok" (the body), "truncated" (half the body, Content-Length of all of it), "unsized" (half the
    body, no Content-Length, connection closed), "html" (a captive-portal page with status 200),
    "stall" (headers and half the body, then silence), "silent" (no reply at all)."""

    def __init__(self, routes: dict):
        self.routes = dict(routes)
        self.hits = []

    @contextlib.contextmanager
    def run(self, port: int = 0, tls=None):
        """Serve for the duration (HTTPS with tls=(certificate, key) files); yields self, with .url set."""
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urllib.parse.urlsplit(self.path).path
                site.hits.append(path)
                kind, body = site.routes.get(path, ("missing", b""))
                if kind == "silent":
                    self.server.release.wait(30)
                    return
                if kind == "missing":
                    self._reply(404, b"not found", "text/plain")
                elif kind == "html":
                    self._reply(200, HTML, "text/html; charset=utf-8")
                elif kind == "ok":
                    self._reply(200, body)
                elif kind == "truncated":
                    self._reply(200, body[: len(body) // 2], length=len(body))
                elif kind == "unsized":
                    self._reply(200, body[: len(body) // 2], length=None)
                elif kind == "stall":
                    self._reply(200, body[: len(body) // 2], length=len(body))
                    self.wfile.flush()
                    self.server.release.wait(30)
                self.close_connection = True

            def _reply(self, status, body, content_type="application/octet-stream", length=-1):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if length is not None:
                    self.send_header("Content-Length", str(len(body) if length == -1 else length))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        with serving(Handler, port, tls) as server:
            self.url = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"
            yield self


@contextlib.contextmanager
def forwarding_proxy(hosts: dict):
    """An HTTP proxy on 127.0.0.1 that forwards absolute-URL GETs (as urllib sends them through
    HTTP_PROXY) and tunnels CONNECT (HTTPS_PROXY), mapping host names to 127.0.0.1 ports with
    `hosts` ({name: "127.0.0.1:port"}) instead of a name lookup. Yields (proxy URL, requests seen)."""
    seen = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _connect(self, netloc):
            """A socket to the mapped port; connected with the real connect, so a guard that stops
            the client from going direct does not stop the proxy."""
            host, _, port = hosts[netloc.split(":")[0]].partition(":")
            upstream = socket.socket()
            upstream.settimeout(10)
            REAL_CONNECT(upstream, (host, int(port)))
            return upstream

        def do_GET(self):
            seen.append(("GET", self.path))
            parts = urllib.parse.urlsplit(self.path)
            upstream = self._connect(parts.netloc)
            request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
            upstream.sendall(request.encode())
            self._pipe(upstream, self.connection)
            self.close_connection = True

        def do_CONNECT(self):
            seen.append(("CONNECT", self.path))
            upstream = self._connect(self.path)
            self.send_response(200, "Connection established")
            self.end_headers()
            threading.Thread(target=self._pipe, args=(self.connection, upstream), daemon=True).start()
            self._pipe(upstream, self.connection)
            self.close_connection = True

        @staticmethod
        def _pipe(source, sink):
            with contextlib.suppress(OSError):
                while data := source.recv(65536):
                    sink.sendall(data)

    with serving(Proxy) as server:
        yield f"http://127.0.0.1:{server.server_port}", seen


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def loopback_only(monkeypatch):
    """Sockets may connect to 127.0.0.1 and nowhere else; yields the addresses contacted.
    Undoes conftest's refusal of every connection for this test only."""
    contacted = []

    def connect(sock, address):
        contacted.append(address)
        if sock.family != socket.AF_INET or address[0] != "127.0.0.1":
            raise AssertionError(f"a test tried to reach {address!r}, not 127.0.0.1")
        return REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket, "create_connection", REAL_CREATE_CONNECTION)
    monkeypatch.setattr(socket.socket, "connect", connect)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):  # this machine's own settings
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("COURSEKIT_OFFLINE", raising=False)
    yield contacted
    assert all(address[0] == "127.0.0.1" for address in contacted), contacted


def assert_offline_notice(out: str, label: str, folder) -> None:
    """The one line "auto" prints when COURSEKIT_OFFLINE=1 forces the synthetic set."""
    assert out.count("\n") == 1 and out.startswith("offline (COURSEKIT_OFFLINE=1 is set) (http"), out
    assert f"): using the synthetic {label} in {folder}. For the real one, " in out, out
