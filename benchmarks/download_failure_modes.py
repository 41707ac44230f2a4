"""Issue 18's failure modes of a real-data download, run through the ISBI loader's public API
(`isbi_dir(source, root)`, `$COURSEKIT_ISBI_URL`) and `decode_image`, which every version of
coursekit has, so the same script shows the behaviour before and after a change:

    python benchmarks/download_failure_modes.py                       # this checkout's coursekit
    git worktree add /tmp/old 772107c^
    PYTHONPATH=/tmp/old python benchmarks/download_failure_modes.py   # the coursekit before issue 18

Every server is started here on 127.0.0.1 (tests/local_http.py). No socket reaches any other
address: name lookups of other hosts fail, except the two hosts the old reachability probe asks,
which resolve to a local listener when the case says "the probe hosts answer".
"""
import contextlib
import io
import os
import socket
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))  # appended: PYTHONPATH's coursekit wins
import local_http  # noqa: E402

os.environ.pop("COURSEKIT_OFFLINE", None)
for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
    os.environ.pop(name, None)
    os.environ.pop(name.upper(), None)

from coursekit.data import isbi  # noqa: E402

REAL_GETADDRINFO = socket.getaddrinfo
PROBE_HOSTS = {"www.robots.ox.ac.uk", "download.pytorch.org"}  # what the old is_online connected to


@contextlib.contextmanager
def world(probe_hosts_answer: bool):
    """Only 127.0.0.1 exists. When probe_hosts_answer, the old probe's hosts resolve to a local
    listener (they "answer"); every other name fails to resolve, as on a network without DNS."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def getaddrinfo(host, service, *args, **kwargs):
        if host in ("127.0.0.1", "localhost"):
            return REAL_GETADDRINFO(host, service, *args, **kwargs)
        if probe_hosts_answer and host in PROBE_HOSTS:
            return REAL_GETADDRINFO("127.0.0.1", port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such host here")

    def connect(sock, address):
        if sock.family != socket.AF_INET or address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"{address!r} is not 127.0.0.1")
        return local_http.REAL_CONNECT(sock, address)

    saved = socket.getaddrinfo, socket.socket.connect
    socket.getaddrinfo, socket.socket.connect = getaddrinfo, connect
    try:
        yield
    finally:
        socket.getaddrinfo, socket.socket.connect = saved
        listener.close()


def stacks() -> dict:
    folder = isbi.write_synthetic_isbi(tempfile.mkdtemp(), n_slices=2, size=64)
    return {name: (folder / name).read_bytes() for name in isbi.FILES}


def outcome(call) -> str:
    """What a call gave: its value's kind, or its exception's type and first line; with the
    lines it printed and its seconds."""
    printed, started = io.StringIO(), time.perf_counter()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):  # progress bars
            value = call()
        said = f"returned {value}"
    except Exception as error:  # every failure is what is measured
        said = f"raised {type(error).__name__}: {str(error).splitlines()[0][:110] if str(error) else ''}"
    lines = printed.getvalue().strip().splitlines()
    notice = f" | printed: {lines[0][:110]}" if lines else ""
    return f"{said}{notice} ({time.perf_counter() - started:.1f} s)"


def kind_of(root: Path, synthetic_root: Path) -> str:
    return "the synthetic set" if root == synthetic_root and (root / isbi.MARKER).is_file() else f"{root} as real"


def isbi_case(kind: str, probe_hosts_answer: bool, via_proxy: bool) -> list[str]:
    """auto, real, then a later auto with the server gone, in one data folder that starts with
    the synthetic set (as after the chapter ran offline); then what load_isbi makes of the folder."""
    files = stacks()
    isbi.EXPECTED_SHAPE = (2, 64, 64)  # where the loader checks the shape (after the change)
    routes = {f"/data/{name}": ("ok", body) for name, body in files.items()}
    if kind != "refused":
        routes["/data/train-labels.tif"] = (kind, files["train-labels.tif"])
    root = Path(tempfile.mkdtemp())
    rows = []
    with world(probe_hosts_answer), local_http.Site(routes).run() as site, contextlib.ExitStack() as stack:
        url = f"http://127.0.0.1:{local_http.closed_port()}/data/" if kind == "refused" else site.url + "/data/"
        if via_proxy:  # the data host is reached only through the proxy
            port = urllib.parse.urlsplit(url).port
            proxy, _ = stack.enter_context(local_http.forwarding_proxy({"data.example": f"127.0.0.1:{port}"}))
            os.environ["HTTP_PROXY"] = proxy
            url = url.replace("127.0.0.1", "data.example")
        os.environ["COURSEKIT_ISBI_URL"] = url
        with contextlib.redirect_stdout(io.StringIO()):
            synthetic = isbi.isbi_dir("synthetic", root=root)
        rows.append("auto: " + outcome(lambda: kind_of(isbi.isbi_dir("auto", root=root), synthetic)))
        rows.append("real: " + outcome(lambda: kind_of(isbi.isbi_dir("real", root=root), synthetic)))
    os.environ.pop("HTTP_PROXY", None)
    os.environ["COURSEKIT_ISBI_URL"] = f"http://127.0.0.1:{local_http.closed_port()}/data/"
    with world(probe_hosts_answer):
        rows.append("later auto, server gone: " + outcome(lambda: kind_of(isbi.isbi_dir("auto", root=root),
                                                                           synthetic)))
    rows.append("load_isbi on the folder: " + outcome(lambda: tuple(a.shape for a in isbi.load_isbi(root))))
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    rows.append(f"left in the folder: {', '.join(left)}")
    return rows


def exif_case() -> list[str]:
    import test_data_catsdogs
    from coursekit.data.catsdogs import decode_image

    path = test_data_catsdogs.damaged_exif_jpeg(Path(tempfile.mkdtemp()) / "damaged.jpg")
    return ["decode_image(size=None): " + outcome(lambda: getattr(decode_image(path, size=None), "shape", None))]


CASES = [(kind, True, False) for kind in ("ok", "truncated", "unsized", "html", "refused")] + [
    ("ok", False, True), ("ok", True, True)]


def run_case(index: int) -> None:
    if index == len(CASES):
        print("## A JPEG with a damaged EXIF block (orientation 6)")
        rows = exif_case()
    else:
        kind, probe_hosts_answer, via_proxy = CASES[index]
        print(f"## ISBI, the labels file's reply: {kind}; {'through a proxy only' if via_proxy else 'direct'}; "
              f"the old probe's hosts {'answer' if probe_hosts_answer else 'do not answer'}")
        rows = isbi_case(kind, probe_hosts_answer, via_proxy)
    print("\n".join(f"- {row}" for row in rows) + "\n", flush=True)


def main():
    """Each case in a fresh process: the old code cached "online" for the process."""
    import subprocess

    import coursekit

    if sys.argv[1:2] == ["--case"]:
        return run_case(int(sys.argv[2]))
    print(f"coursekit from {Path(coursekit.__file__).parent}\n", flush=True)
    for index in range(len(CASES) + 1):
        subprocess.run([sys.executable, __file__, "--case", str(index)], check=True)


if __name__ == "__main__":
    main()
