"""Downloads that either give the whole, expected file or one clear error, and never hang.

"Can we download this?" is answered by opening the very URL, through the proxy settings
urllib takes from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY: the ones torchvision,
torch.hub and Keras use too), within a deadline that covers the name lookup. Nothing is
cached: a later call finds the network back. COURSEKIT_OFFLINE=1 forces "no" without
touching the network (the tests use it).
"""
import hashlib
import http.client
import os
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

OFFLINE_ENV = "COURSEKIT_OFFLINE"  # set to 1 to force the synthetic data and random weights
OPEN_DEADLINE = 5.0  # seconds to look the host up, connect (or reach the proxy) and get the reply's headers
READ_TIMEOUT = 30.0  # seconds of silence in the middle of a download before it counts as cut short


class DownloadError(RuntimeError):
    """A real file could not be had: offline, refused, cut short, or not the expected file.

    url: what was fetched; problem: what went wrong; hint: what to do instead (by hand)."""

    def __init__(self, url: str, problem: str, hint: str = ""):
        self.url, self.problem, self.hint = url, problem, hint
        super().__init__(url, problem, hint)

    def __str__(self):
        return f"cannot download {self.url}: {self.problem}" + (f". {self.hint}" if self.hint else "")


class OfflineError(DownloadError):
    """There is no network (or COURSEKIT_OFFLINE=1 says so)."""


def forced_offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


def proxy_for(url: str):
    """The proxy urllib will use for url (from the environment), or None when it goes direct."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return proxy
    return None


def _describe(error: BaseException) -> str:
    """What went wrong, in words, for a urllib/socket/ssl failure."""
    reason = error.reason if isinstance(error, urllib.error.URLError) and not isinstance(
        error, urllib.error.HTTPError) else error
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered HTTP {error.code} {error.reason}"
    if isinstance(reason, socket.gaierror):
        return f"the host name could not be looked up (offline, or no DNS: {reason})"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "no answer in time"
    if isinstance(reason, ssl.SSLError):
        return f"the secure connection failed ({reason})"
    return f"{type(reason).__name__}: {reason}"


def open_url(url: str, deadline: float = None):
    """The urllib response (headers read) for url, within `deadline` seconds in all, name lookup
    included: the opening runs in a thread, since socket timeouts do not cover getaddrinfo.
    Raises OfflineError or DownloadError."""
    deadline = OPEN_DEADLINE if deadline is None else deadline
    via = proxy_for(url)
    where = f" (through the proxy {via})" if via else ""
    if forced_offline():
        raise OfflineError(url, f"offline ({OFFLINE_ENV}=1 is set)")
    result, lock = {}, threading.Lock()

    def attempt():
        try:
            opener = urllib.request.build_opener()  # a new ProxyHandler: the proxy settings as they are now
            response = opener.open(urllib.request.Request(url, headers={"User-Agent": "coursekit"}),
                                   timeout=READ_TIMEOUT)
        except (OSError, http.client.HTTPException, ValueError) as error:  # URLError is an OSError
            result["error"] = error
            return
        with lock:
            if result.get("abandoned"):
                response.close()
            else:
                result["response"] = response

    thread = threading.Thread(target=attempt, daemon=True, name=f"coursekit open {url}")
    thread.start()
    thread.join(deadline)
    with lock:
        if "response" in result:
            return result["response"]
        if "error" not in result:
            result["abandoned"] = True
            raise DownloadError(url, f"no answer within {deadline:g} s{where} (name lookup, connection or reply)")
    error = result["error"]
    problem = _describe(error) + where
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, socket.gaierror) and not via:
        raise OfflineError(url, problem)
    raise DownloadError(url, problem)


def can_download(url: str, deadline: float = None):
    """None when url answers (through the proxy settings in use), else why not, in words."""
    try:
        open_url(url, deadline).close()
    except DownloadError as error:
        return error.problem
    return None


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest of a file: a hashlib algorithm, or "git-sha1" (the object id GitHub lists)."""
    if algorithm == "git-sha1":
        digest = hashlib.sha1(b"blob %d\0" % Path(path).stat().st_size)
    else:
        digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, size: int = None, checksum: tuple = None, check=None) -> Path:
    """Download url to dest with a progress bar; dest appears only when whole and as expected.

    The bytes go to dest + ".part", which is renamed only when their number matches the reply's
    Content-Length and `size`, their digest matches checksum=(algorithm, hex) and check(path)
    (raising on a wrong file) passes; on any failure the .part is deleted and DownloadError says why.
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    partial = dest.with_name(dest.name + ".part")
    try:
        with open_url(url) as response:
            _refuse_a_web_page(url, response)
            dest.parent.mkdir(parents=True, exist_ok=True)
            announced = int(response.headers.get("Content-Length") or 0) or None
            if size and announced and announced != size:
                raise DownloadError(url, f"not the expected file: the server offers {announced:,} bytes, "
                                         f"not {size:,}")
            got = 0
            with open(partial, "wb") as out, tqdm(total=announced or size, unit="B", unit_scale=True,
                                                  desc=dest.name) as bar:
                while chunk := _read(url, response, got):
                    out.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
        expected = announced or size
        if expected and got < expected:
            raise DownloadError(url, f"cut short: {got:,} of {expected:,} bytes arrived")
        if size and got != size:
            raise DownloadError(url, f"not the expected file: {got:,} bytes, not {size:,}")
        _verify(url, partial, checksum, check)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def _read(url, response, got: int) -> bytes:
    try:
        return response.read(1 << 20)
    except (OSError, http.client.HTTPException) as error:  # a timeout, a reset, an incomplete chunk
        raise DownloadError(url, f"cut short after {got:,} bytes ({_describe(error)})") from None


def _refuse_a_web_page(url, response) -> None:
    kind = response.headers.get("Content-Type", "")
    if kind.startswith("text/html") and not urllib.parse.urlsplit(url).path.endswith((".html", ".htm", "/")):
        raise DownloadError(url, "not the expected file: the server sent a web page (a Wi-Fi sign-in page, "
                                 "a proxy's notice or a wrong URL?)")


def _verify(url, path: Path, checksum, check) -> None:
    if checksum:
        algorithm, want = checksum
        got = file_digest(path, algorithm)
        if got != want:
            raise DownloadError(url, f"not the expected file: its {algorithm} is {got}, not {want}")
    if check:
        try:
            check(path)
        except Exception as error:  # a reader's own error type (TiffFileError, BadZipFile...) means a wrong file
            raise DownloadError(url, f"not the expected file ({error})") from None


def download_first(mirrors, dest: Path, check=None) -> Path:
    """download() from the first mirror that works. mirrors: (url, size, checksum) for each,
    since a mirror may publish its own checksum. DownloadError naming every mirror when none works."""
    problems = []
    for url, size, checksum in mirrors:
        try:
            return download(url, dest, size, checksum, check)
        except DownloadError as error:
            if forced_offline():
                raise
            problems.append(error)
    first, *others = problems
    if not others:
        raise first
    kind = OfflineError if all(isinstance(p, OfflineError) for p in problems) else DownloadError
    raise kind(first.url, first.problem + "".join(f"; and the mirror {p.url}: {p.problem}" for p in others))
