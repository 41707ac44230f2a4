"""Downloads against servers this test starts on 127.0.0.1: correct, truncated, HTML, slow,
refused and proxied replies. Each gives the whole file or one DownloadError saying what went
wrong; nothing half-written is left; no other address is contacted (loopback_only)."""
import hashlib
import socket
import threading

import pytest

from coursekit import network
from coursekit.network import DownloadError, OfflineError
from local_http import Site, closed_port, forwarding_proxy, loopback_only, self_signed_certificate  # noqa: F401

BODY = bytes(range(256)) * 64  # 16 KiB


@pytest.fixture
def site(loopback_only):
    routes = {f"/{kind}.bin": (kind, BODY) for kind in ("ok", "truncated", "unsized", "html", "stall", "silent")}
    with Site(routes).run() as running:
        yield running


def fetch(url, tmp_path, **expected):
    return network.download(url, tmp_path / "file.bin", **expected)


def test_a_correct_reply_is_saved_whole_and_checked(site, tmp_path, loopback_only):
    sha256 = hashlib.sha256(BODY).hexdigest()
    path = fetch(site.url + "/ok.bin", tmp_path, size=len(BODY), checksum=("sha256", sha256))
    assert path.read_bytes() == BODY and sorted(tmp_path.iterdir()) == [path]
    assert network.file_digest(path, "git-sha1") == hashlib.sha1(b"blob 16384\0" + BODY).hexdigest()
    assert loopback_only and site.hits == ["/ok.bin"]


@pytest.mark.parametrize("kind, problem", [
    ("truncated", "cut short: 8,192 of 16,384 bytes arrived"),  # Content-Length says more
    ("unsized", "cut short: 8,192 of 16,384 bytes arrived"),  # no Content-Length: the expected size says more
    ("html", "not the expected file: the server sent a web page"),
])
def test_a_bad_reply_is_one_clear_error_and_leaves_nothing(site, tmp_path, kind, problem):
    with pytest.raises(DownloadError, match=problem) as caught:
        fetch(f"{site.url}/{kind}.bin", tmp_path, size=len(BODY))
    assert caught.value.url == f"{site.url}/{kind}.bin" and f"cannot download {site.url}/{kind}.bin" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # no file, no .part


def test_a_wrong_checksum_or_content_is_refused(site, tmp_path):
    with pytest.raises(DownloadError, match="not the expected file: its sha256 is"):
        fetch(site.url + "/ok.bin", tmp_path, checksum=("sha256", "0" * 64))

    def check(path):
        raise ValueError("not a TIFF")

    with pytest.raises(DownloadError, match=r"not the expected file \(not a TIFF\)"):
        fetch(site.url + "/ok.bin", tmp_path, check=check)
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_stops_sending_is_cut_short(site, tmp_path, monkeypatch):
    monkeypatch.setattr(network, "READ_TIMEOUT", 0.5)
    with pytest.raises(DownloadError, match=r"cut short after .* \(no answer in time\)"):
        fetch(site.url + "/stall.bin", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_never_answers_misses_the_deadline(site, tmp_path, monkeypatch):
    monkeypatch.setattr(network, "OPEN_DEADLINE", 0.5)
    with pytest.raises(DownloadError, match="no answer within 0.5 s"):
        fetch(site.url + "/silent.bin", tmp_path)


def test_a_refused_connection(loopback_only, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/file.bin"
    with pytest.raises(DownloadError, match="the connection was refused"):
        fetch(url, tmp_path)
    assert network.can_download(url) == "the connection was refused"
    assert loopback_only  # it did try


def test_the_deadline_covers_a_name_lookup_that_never_ends(loopback_only, monkeypatch, tmp_path):
    """getaddrinfo ignores socket timeouts; a DNS server that never answers must not hang the notebook."""
    release = threading.Event()
    asked = []
    real_getaddrinfo = socket.getaddrinfo

    def stuck(host, *args, **kwargs):
        if host == "data.never-answers.test":
            asked.append(host)
            release.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    monkeypatch.setattr(network, "OPEN_DEADLINE", 0.3)
    try:
        with pytest.raises(DownloadError, match=r"no answer within 0.3 s \(name lookup"):
            fetch("http://data.never-answers.test/file.bin", tmp_path)
    finally:
        release.set()
    assert asked == ["data.never-answers.test"] and loopback_only == []


def test_a_failed_lookup_reads_as_offline(loopback_only, monkeypatch, tmp_path):
    def no_dns(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(OfflineError, match="the host name could not be looked up"):
        fetch("https://example.invalid/file.bin", tmp_path)


def test_the_answer_is_not_cached_a_later_call_finds_the_server(loopback_only):
    port = closed_port()
    url = f"http://127.0.0.1:{port}/ok.bin"
    assert network.can_download(url) == "the connection was refused"
    with Site({"/ok.bin": ("ok", BODY)}).run(port=port) as site:  # the network is back
        assert network.can_download(url) is None and site.hits == ["/ok.bin"]


def test_downloads_go_through_the_proxy_in_the_environment(site, tmp_path, monkeypatch, loopback_only):
    """The data host's name exists only for the proxy: a direct attempt could not even look it up."""
    with forwarding_proxy({"data.behind-proxy.test": site.url.removeprefix("http://")}) as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        url = "http://data.behind-proxy.test/ok.bin"
        assert network.proxy_for(url) == proxy
        assert network.can_download(url) is None
        path = fetch(url, tmp_path, size=len(BODY))
        assert path.read_bytes() == BODY
        assert seen == [("GET", url), ("GET", url)]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert network.proxy_for(site.url + "/ok.bin") is None  # NO_PROXY is honoured, as urllib does
    proxy_port = int(proxy.rsplit(":", 1)[1])
    assert {port for _, port in loopback_only} == {proxy_port}  # the client only ever reached the proxy


def test_https_through_a_connect_proxy(tmp_path, monkeypatch, loopback_only):
    """HTTPS_PROXY: the probe and the download tunnel through the proxy (CONNECT) to a TLS site
    whose name only the proxy knows; its self-signed certificate is refused until trusted."""
    host = "data.behind-proxy.test"
    cert, key = self_signed_certificate(tmp_path, host)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with Site({"/ok.bin": ("ok", BODY)}).run(tls=(cert, key)) as site, \
            forwarding_proxy({host: site.url.removeprefix("https://")}) as (proxy, seen):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        url = f"https://{host}/ok.bin"
        assert network.proxy_for(url) == proxy
        untrusted = network.can_download(url)
        assert untrusted.startswith("the secure connection failed (") and "CERTIFICATE_VERIFY_FAILED" in untrusted
        assert untrusted.endswith(f"(through the proxy {proxy})") and site.hits == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # as a company's proxy CA is trusted
        assert network.can_download(url) is None
        path = fetch(url, tmp_path / "got", size=len(BODY), checksum=("sha256", hashlib.sha256(BODY).hexdigest()))
        assert path.read_bytes() == BODY
    assert seen == [("CONNECT", f"{host}:443")] * 3 and site.hits == ["/ok.bin", "/ok.bin"]
    assert {port for _, port in loopback_only} == {int(proxy.rsplit(":", 1)[1])}  # only ever the proxy


def test_a_dead_proxy_is_named_in_the_error(loopback_only, monkeypatch, tmp_path):
    proxy = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTP_PROXY", proxy)
    with pytest.raises(DownloadError, match=f"refused \\(through the proxy {proxy}\\)"):
        fetch("http://data.behind-proxy.test/ok.bin", tmp_path)


def test_offline_forced_touches_nothing(tmp_path):
    """conftest's COURSEKIT_OFFLINE=1 and its socket refusal: an OfflineError, no connection attempted."""
    with pytest.raises(OfflineError, match="COURSEKIT_OFFLINE=1"):
        fetch("https://example.org/file.bin", tmp_path / "sub")
    assert not (tmp_path / "sub").exists()


def test_mirrors_are_tried_in_turn_and_all_named_when_none_works(site, tmp_path):
    refused = f"http://127.0.0.1:{closed_port()}/ok.bin"
    sha256 = hashlib.sha256(BODY).hexdigest()
    mirrors = [(refused, None, None), (site.url + "/html.bin", None, None),
               (site.url + "/ok.bin", len(BODY), ("sha256", sha256))]
    assert network.download_first(mirrors, tmp_path / "f.bin").read_bytes() == BODY
    with pytest.raises(DownloadError) as caught:
        network.download_first(mirrors[:2], tmp_path / "g.bin")
    assert "connection was refused" in str(caught.value) and "and the mirror" in str(caught.value)
    assert "web page" in str(caught.value) and not (tmp_path / "g.bin").exists()
