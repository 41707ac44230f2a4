"""The four loaders' real-data path against servers on 127.0.0.1 serving small files in the
real formats: a correct reply is checked and put in place; a truncated, HTML, stalled or refused
one makes "auto" fall back to the synthetic set with one line saying why, and "real" raise one
DownloadError naming the URL and the by-hand steps; nothing half-written is left, and a synthetic
set in the same folder (its marker) stays until a download has succeeded."""
import gzip
import hashlib
import shutil
import tarfile

import pytest

from coursekit import network
from coursekit.data import catsdogs, fashion, isbi, pets
from coursekit.network import DownloadError
from local_http import Site, closed_port, forwarding_proxy, loopback_only, self_signed_certificate  # noqa: F401

BAD_REPLIES = ["truncated", "unsized", "html", "stall", "refused"]
PROBLEMS = {"truncated": "cut short", "unsized": "not the expected file", "html": "sent a web page",
            "stall": "cut short", "refused": "connection was refused"}


@pytest.fixture(autouse=True)
def small(monkeypatch):
    """Small synthetic sets for the fallbacks, and a short read timeout for the stalled replies."""
    monkeypatch.setitem(isbi.SYNTHETIC, "n_slices", 2)
    monkeypatch.setitem(isbi.SYNTHETIC, "size", 64)
    monkeypatch.setitem(pets.SYNTHETIC, "n_images", 2)
    monkeypatch.setitem(catsdogs.SYNTHETIC, "n_per_class", 8)
    monkeypatch.setitem(fashion.SYNTHETIC, "n_train", 20)
    monkeypatch.setitem(fashion.SYNTHETIC, "n_test", 10)
    monkeypatch.setattr(network, "READ_TIMEOUT", 0.5)


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def served(kind, body):
    """The route for one file: its bytes, or a bad reply of that kind ("refused" is served whole,
    since the URL itself points at a closed port)."""
    return ("ok" if kind == "refused" else kind), body


# ---- ISBI 2012 (COURSEKIT_ISBI_URL) -----------------------------------------------------

@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """The three files, 2 x 64 x 64 as the real ones are 30 x 512 x 512."""
    folder = isbi.write_synthetic_isbi(tmp_path_factory.mktemp("stacks"), n_slices=2, size=64)
    return {name: (folder / name).read_bytes() for name in isbi.FILES}


@pytest.fixture
def isbi_site(stacks, loopback_only, monkeypatch):
    monkeypatch.setattr(isbi, "EXPECTED_SHAPE", (2, 64, 64))
    site = Site({f"/data/{name}": ("ok", body) for name, body in stacks.items()})
    with site.run():
        monkeypatch.setenv("COURSEKIT_ISBI_URL", site.url + "/data/")
        yield site


@pytest.mark.parametrize("kind", BAD_REPLIES)
def test_isbi_a_bad_reply_falls_back_or_raises_and_keeps_the_synthetic_set(isbi_site, stacks, tmp_path,
                                                                          monkeypatch, capsys, kind):
    isbi_site.routes["/data/train-labels.tif"] = served(kind, stacks["train-labels.tif"])
    if kind == "refused":
        monkeypatch.setenv("COURSEKIT_ISBI_URL", f"http://127.0.0.1:{closed_port()}/data/")
    root = isbi.isbi_dir("synthetic", root=tmp_path)
    synthetic = files_under(root)
    assert isbi.isbi_dir("auto", root=tmp_path) == root
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and PROBLEMS[kind] in line
    assert f"using the synthetic ISBI 2012 in {root}. For the real one, download train-volume.tif" in line
    with pytest.raises(DownloadError, match=PROBLEMS[kind]) as caught:
        isbi.isbi_dir("real", root=tmp_path)
    message = str(caught.value)
    assert "/data/train-" in caught.value.url and message.startswith(f"cannot download {caught.value.url}: ")
    assert f"use source='synthetic' (or 'auto'), or download train-volume.tif" in message
    # train-volume.tif came whole and waits, checked, in .download/; the synthetic set is untouched
    assert [f for f in files_under(root) if not f.startswith(".download/")] == synthetic
    assert all(not f.endswith(".part") for f in files_under(root)) and (root / isbi.MARKER).is_file()


def test_isbi_a_correct_reply_replaces_the_synthetic_set_and_is_used_offline_later(isbi_site, stacks, tmp_path,
                                                                                   monkeypatch, capsys):
    isbi.isbi_dir("synthetic", root=tmp_path)
    assert isbi.isbi_dir("real", root=tmp_path) == tmp_path
    assert files_under(tmp_path) == sorted(isbi.FILES)  # marker and .download/ gone
    assert all((tmp_path / name).read_bytes() == body for name, body in stacks.items())
    assert isbi_site.hits == [f"/data/{name}" for name in isbi.FILES]
    monkeypatch.setenv("COURSEKIT_ISBI_URL", f"http://127.0.0.1:{closed_port()}/data/")
    assert isbi.isbi_dir("auto", root=tmp_path) == tmp_path and len(isbi_site.hits) == 3  # on disk: no download


def test_isbi_a_stack_of_the_wrong_shape_or_labels_is_refused(isbi_site, stacks, tmp_path, monkeypatch):
    monkeypatch.setattr(isbi, "EXPECTED_SHAPE", (30, 512, 512))
    with pytest.raises(DownloadError, match=r"not the expected file \(train-volume.tif holds uint8 \(2, 64, 64\)"):
        isbi.isbi_dir("real", root=tmp_path)
    monkeypatch.setattr(isbi, "EXPECTED_SHAPE", (2, 64, 64))
    isbi_site.routes["/data/train-labels.tif"] = ("ok", stacks["train-volume.tif"])  # grey levels, not 0/255
    with pytest.raises(DownloadError, match="label values other than 0 and 255"):
        isbi.isbi_dir("real", root=tmp_path)


def test_isbi_from_the_default_url_the_git_object_ids_are_checked(isbi_site, stacks, tmp_path, monkeypatch):
    monkeypatch.delenv("COURSEKIT_ISBI_URL")
    monkeypatch.setattr(isbi, "DEFAULT_URL", isbi_site.url + "/data/")
    blob_ids = {name: hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest() for name, body in stacks.items()}
    monkeypatch.setattr(isbi, "GIT_BLOB_IDS", {**blob_ids, "test-volume.tif": "0" * 40})
    with pytest.raises(DownloadError, match="test-volume.tif: not the expected file: its git-sha1 is"):
        isbi.isbi_dir("real", root=tmp_path)
    monkeypatch.setattr(isbi, "GIT_BLOB_IDS", blob_ids)
    assert isbi.isbi_dir("real", root=tmp_path) == tmp_path


def test_isbi_through_a_proxy_only(isbi_site, tmp_path, monkeypatch, loopback_only):
    host = isbi_site.url.removeprefix("http://")
    with forwarding_proxy({"isbi.behind-proxy.test": host}) as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("COURSEKIT_ISBI_URL", "http://isbi.behind-proxy.test/data/")
        assert isbi.isbi_dir("auto", root=tmp_path) == tmp_path and not (tmp_path / isbi.MARKER).exists()
    assert [url for _, url in seen] == [f"http://isbi.behind-proxy.test/data/{name}" for name in isbi.FILES]
    assert {port for _, port in loopback_only} == {int(proxy.rsplit(":", 1)[1])}  # never the site directly


def test_isbi_over_https_through_a_connect_proxy(stacks, tmp_path, monkeypatch, loopback_only, capsys):
    """HTTPS_PROXY and a TLS host only the proxy can reach: "auto" downloads the real stacks through
    the tunnel; with the certificate not trusted it falls back with one line, "real" raises."""
    monkeypatch.setattr(isbi, "EXPECTED_SHAPE", (2, 64, 64))
    host = "isbi.behind-proxy.test"
    cert, key = self_signed_certificate(tmp_path, host)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with Site({f"/data/{name}": ("ok", body) for name, body in stacks.items()}).run(tls=(cert, key)) as site, \
            forwarding_proxy({host: site.url.removeprefix("https://")}) as (proxy, seen):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        monkeypatch.setenv("COURSEKIT_ISBI_URL", f"https://{host}/data/")
        with pytest.raises(DownloadError, match="secure connection failed .*CERTIFICATE_VERIFY_FAILED"):
            isbi.isbi_dir("real", root=tmp_path / "real")
        capsys.readouterr()
        assert isbi.isbi_dir("auto", root=tmp_path / "auto") == tmp_path / "auto"
        assert (tmp_path / "auto" / isbi.MARKER).is_file()  # the synthetic set, marked as such
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and "secure connection failed" in out and "using the synthetic ISBI 2012" in out
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert isbi.isbi_dir("auto", root=tmp_path / "trusted") == tmp_path / "trusted"
    assert sorted(site.hits) == sorted(f"/data/{name}" for name in isbi.FILES)
    assert files_under(tmp_path / "trusted") == sorted(isbi.FILES)
    assert {port for _, port in loopback_only} == {int(proxy.rsplit(":", 1)[1])}  # only ever the proxy


# ---- PetImages (Microsoft's zip) ------------------------------------------------------------

@pytest.fixture(scope="module")
def petimages_zip(tmp_path_factory):
    made = catsdogs.write_synthetic_petimages(tmp_path_factory.mktemp("made"), n_per_class=10)
    (made / catsdogs.MARKER).unlink()
    (made / "readme[1].txt").write_text("as in the real zip\n")
    return open(shutil.make_archive(str(made.parent / "zip"), "zip", made), "rb").read()


@pytest.mark.parametrize("kind", ["unsized", "html", "ok"])
def test_petimages_a_cut_or_wrong_zip_leaves_the_synthetic_set_and_a_whole_one_replaces_it(
        petimages_zip, loopback_only, tmp_path, monkeypatch, capsys, kind):
    body = petimages_zip if kind != "ok" else petimages_zip[:-100]  # "ok" with a damaged end: wrong file
    with Site({"/pets.zip": (kind, body)}).run() as site:
        monkeypatch.setattr(catsdogs, "REAL_URL", site.url + "/pets.zip")
        root = catsdogs.petimages_dir("synthetic", root=tmp_path)
        synthetic = files_under(root)
        assert catsdogs.petimages_dir("auto", root=tmp_path) == root
        line = capsys.readouterr().out
        assert line.count("\n") == 1 and {"unsized": "not the expected file", "html": "web page",
                                          "ok": "not the expected file"}[kind] in line
        assert f"download {site.url}/pets.zip by hand and unzip it into {tmp_path}" in line
        assert files_under(root) == synthetic and (root / catsdogs.MARKER).is_file()  # nothing else left
        site.routes["/pets.zip"] = ("ok", petimages_zip)
        assert catsdogs.petimages_dir("real", root=tmp_path) == tmp_path
    assert len(catsdogs.list_images(root)) == 20 and len(catsdogs.find_corrupt(root)) == 5
    assert sorted(p.name for p in root.iterdir()) == ["PetImages"]  # zip, staging and marker gone


# ---- Oxford-IIIT Pet (two archives, two hosts) ---------------------------------------------

@pytest.fixture(scope="module")
def pet_archives(tmp_path_factory):
    """images.tar.gz and annotations.tar.gz, laid out as the real ones, holding 10 synthetic pets
    (8 trainval, 2 test: the 2-pet synthetic fallback has no test split)."""
    root = pets.write_synthetic_pets(tmp_path_factory.mktemp("pets"), n_images=10)
    base = root / "oxford-iiit-pet"
    archives = {}
    for name in ("images", "annotations"):
        path = root / f"{name}.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            tar.add(base / name, arcname=name)
        archives[f"{name}.tar.gz"] = path.read_bytes()
    return archives


@pytest.fixture
def pets_hosts(pet_archives, loopback_only, monkeypatch):
    """Two hosts as the real ones: /thor/ with size and sha256, /www/ with md5."""
    site = Site({f"/{host}/{name}": ("ok", body) for name, body in pet_archives.items() for host in ("thor", "www")})
    with site.run():
        monkeypatch.setattr(pets, "ARCHIVES", {name: [
            (f"{site.url}/thor/{name}", len(body), ("sha256", hashlib.sha256(body).hexdigest())),
            (f"{site.url}/www/{name}", None, ("md5", hashlib.md5(body).hexdigest()))]
            for name, body in pet_archives.items()})
        yield site


def test_pets_when_the_first_host_fails_the_mirror_serves_it_checked(pets_hosts, pet_archives, tmp_path, capsys):
    pets_hosts.routes["/thor/images.tar.gz"] = ("html", b"")
    pets_hosts.routes["/thor/annotations.tar.gz"] = ("truncated", pet_archives["annotations.tar.gz"])
    root = pets.pets_dir("synthetic", root=tmp_path)
    assert pets.pets_dir("real", root=tmp_path) == root
    assert not (root / "oxford-iiit-pet" / pets.MARKER).exists() and sorted(p.name for p in root.iterdir()) == \
        ["oxford-iiit-pet"]
    images, masks = pets.load_pets(root, size=32)
    assert images.shape == (8, 32, 32, 3) and set(masks.ravel().tolist()) <= {0, 1, 2}
    assert len(pets.read_split(root, "test")) == 2
    assert "/www/images.tar.gz" in pets_hosts.hits and "/www/annotations.tar.gz" in pets_hosts.hits


def test_pets_an_archive_checked_in_a_failed_run_is_not_fetched_again(pets_hosts, pet_archives, tmp_path, capsys):
    pets_hosts.routes["/thor/annotations.tar.gz"] = pets_hosts.routes["/www/annotations.tar.gz"] = ("html", b"")
    root = pets.pets_dir("synthetic", root=tmp_path)
    assert pets.pets_dir("auto", root=tmp_path) == root and (root / "oxford-iiit-pet" / pets.MARKER).is_file()
    assert (root / ".download" / "images.tar.gz").read_bytes() == pet_archives["images.tar.gz"]  # checked, kept
    pets_hosts.routes["/thor/annotations.tar.gz"] = ("ok", pet_archives["annotations.tar.gz"])
    assert pets.pets_dir("real", root=tmp_path) == root and not (root / "oxford-iiit-pet" / pets.MARKER).exists()
    assert pets_hosts.hits.count("/thor/images.tar.gz") == 1


def test_pets_when_no_host_serves_the_expected_file_auto_keeps_the_synthetic_set(pets_hosts, tmp_path, capsys):
    for route in list(pets_hosts.routes):
        pets_hosts.routes[route] = ("ok", b"\x1f\x8b not the archive")
    root = pets.pets_dir("synthetic", root=tmp_path)
    synthetic = files_under(root)
    assert pets.pets_dir("auto", root=tmp_path) == root and (root / "oxford-iiit-pet" / pets.MARKER).is_file()
    line = capsys.readouterr().out
    assert "not the expected file" in line and "; and the mirror " in line and line.count("\n") == 1
    assert files_under(root) == synthetic  # no archive, no .part


# ---- FashionMNIST (four .gz files, two mirrors) ------------------------------------------------

@pytest.fixture(scope="module")
def fashion_files(tmp_path_factory):
    raw = fashion.write_synthetic_fashion(tmp_path_factory.mktemp("fashion"), n_train=20, n_test=10) \
        / "FashionMNIST" / "raw"
    return {name: (raw / name).read_bytes() for name in fashion.DOWNLOADS}


@pytest.fixture
def fashion_mirrors(fashion_files, loopback_only, monkeypatch):
    site = Site({f"/{m}/{name}": ("ok", body) for name, body in fashion_files.items() for m in ("s3", "github")})
    with site.run():
        monkeypatch.setattr(fashion, "MIRRORS", (site.url + "/s3/", site.url + "/github/"))
        shapes = {"train-images": (20, 28, 28), "train-labels": (20,), "t10k-images": (10, 28, 28),
                  "t10k-labels": (10,)}
        monkeypatch.setattr(fashion, "DOWNLOADS", {
            name: (len(body), hashlib.sha256(body).hexdigest(), shapes[name.rsplit("-", 2)[0]])
            for name, body in fashion_files.items()})
        yield site


def test_fashion_downloads_are_checked_and_a_truncated_one_comes_from_the_mirror(fashion_mirrors, fashion_files,
                                                                                 tmp_path):
    fashion_mirrors.routes["/s3/train-images-idx3-ubyte.gz"] = ("truncated", fashion_files["train-images-idx3-ubyte.gz"])
    root = fashion.fashion_root("synthetic", root=tmp_path)
    assert fashion.fashion_root("real", root=tmp_path) == root and not (root / "FashionMNIST" / fashion.MARKER).exists()
    raw = root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(fashion.RAW_FILES + tuple(fashion.DOWNLOADS))
    assert fashion.read_idx(raw / "train-images-idx3-ubyte").shape == (20, 28, 28)
    assert gzip.decompress(fashion_files["t10k-labels-idx1-ubyte.gz"]) == (raw / "t10k-labels-idx1-ubyte").read_bytes()
    assert "/github/train-images-idx3-ubyte.gz" in fashion_mirrors.hits and sorted(p.name for p in root.iterdir()) == \
        ["FashionMNIST"]


def test_fashion_a_mirror_file_of_the_wrong_shape_is_refused(fashion_mirrors, fashion_files, tmp_path, capsys):
    fashion_mirrors.routes["/s3/t10k-labels-idx1-ubyte.gz"] = ("html", b"")
    fashion_mirrors.routes["/github/t10k-labels-idx1-ubyte.gz"] = ("ok", fashion_files["train-labels-idx1-ubyte.gz"])
    root = fashion.fashion_root("synthetic", root=tmp_path)
    assert fashion.fashion_root("auto", root=tmp_path) == root and (root / "FashionMNIST" / fashion.MARKER).is_file()
    line = capsys.readouterr().out
    assert "web page" in line and "holds an array of shape (20,), not (10,)" in line
