"""`coursekit data preview` writes the four synthetic sets and a small PNG of each."""
import subprocess
import sys

from coursekit import cli


def test_preview_writes_four_small_pngs(data_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSEKIT_DATA", str(data_home))
    out = tmp_path / "preview"
    assert cli.main(["data", "preview", "--out", str(out)]) == 0
    names = ["pets.png", "isbi.png", "petimages.png", "fashion.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for name in names:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(data) < 150_000, (name, len(data))
    assert capsys.readouterr().out.split() == [str(out / name) for name in names]
    # the preview fills the very cache the loaders read: they write nothing new
    from coursekit.data import catsdogs, fashion, isbi, pets

    cached = sorted((data_home / "synthetic").iterdir())
    used = [pets.pets_dir("synthetic"), isbi.isbi_dir("synthetic"),
            catsdogs.petimages_dir("synthetic"), fashion.fashion_root("synthetic")]
    assert sorted((data_home / "synthetic").iterdir()) == cached  # nothing new written
    assert all(path in cached for path in used)


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run([sys.executable, "-m", "coursekit", "data", "preview", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--seed" in result.stdout and "--out" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "coursekit", "data"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "preview" in bad.stderr
