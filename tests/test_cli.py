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


# autograder's command line: a thin layer; every user mistake is one line and a non-zero exit.
import argparse  # noqa: E402

import pytest  # noqa: E402

from autograder import cli as autograder_cli  # noqa: E402


def one_line_error(capsys, argv) -> str:
    try:
        code = autograder_cli.main(argv)
    except SystemExit as exit:  # argparse's own exit, for a malformed command line
        code = exit.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and err and "\n" not in err and "Traceback" not in err, (code, err)
    return err


def test_user_mistakes_are_one_line(tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    (tmp_path / "course").mkdir()
    assert "does not exist" in one_line_error(capsys, ["grade", "pytorch_data", str(tmp_path / "nope")])
    assert "is a file, not a folder" in one_line_error(capsys, ["grade", "pytorch_data", str(afile)])
    for workers in ("0", "-3", "two"):
        assert "--workers" in one_line_error(capsys, ["grade", "pytorch_data", str(tmp_path), "--workers", workers])
    assert "no exercise named 'nosuch'" in one_line_error(capsys, ["grade", "nosuch", str(tmp_path)])
    assert "does not exist" in one_line_error(capsys, ["check", str(tmp_path / "nope.ipynb")])
    assert "does not exist" in one_line_error(capsys, ["check", str(tmp_path / "nope.ipynb"), "--exercise", "unet"])
    assert "no exercise named" in one_line_error(capsys, ["check", str(afile), "--exercise", "nosuch"])
    assert "no exercise named" in one_line_error(capsys, ["gradescope-zip", "nosuch", "--out", str(tmp_path / "z.zip")])
    course = ["--course-dir", str(tmp_path / "course")]
    assert "not an nbgrader course folder" in one_line_error(capsys, ["nbgrader-grade", "pytorch_data", *course])
    (tmp_path / "course" / "nbgrader_config.py").write_text("c = get_config()\n")
    assert "known assignments" in one_line_error(capsys, ["nbgrader-grade", "unet", *course])
    assert "nbgrader collect" in one_line_error(capsys, ["nbgrader-grade", "unet_torch", *course])
    assert "does not exist" in one_line_error(capsys, ["nbgrader-grade", "unet_torch", "--course-dir", str(tmp_path / "no")])
    assert "is a file" in one_line_error(capsys, ["nbgrader-course", str(afile)])


def test_list_shows_assignments_and_frameworks(capsys):
    assert autograder_cli.main(["list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "unet_keras (keras)" in rows["unet"] and "unet_torch (torch)" in rows["unet"]
    assert "pytorch_data (torch)" in rows["pytorch_data"]


def test_every_command_and_option_has_help():
    parser = autograder_cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {c.dest for c in commands._choices_actions} == set(commands.choices)
    for name, sub in commands.choices.items():
        assert sub.description, name
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_the_demo_writes_to_its_own_samples_folder(tmp_path, monkeypatch, capsys):
    import autograder.batch

    graded = []
    monkeypatch.setattr(autograder.batch, "grade_folder", lambda exercise, folder, out, workers: graded.append(
        (exercise.slug, folder, out)) or [])
    monkeypatch.setattr(autograder.batch, "print_summary", lambda grades, out: None)
    out = tmp_path / "grades"
    assert autograder_cli.main(["grade", "--out", str(out)]) == 0
    assert graded and all(o == out / "samples" / slug and f == autograder_cli.SAMPLES / slug for slug, f, o in graded)
    graded.clear()
    assert autograder_cli.main(["grade", "unet", "--out", str(out)]) == 0
    assert graded == [("unet", autograder_cli.SAMPLES / "unet", out / "samples" / "unet")]
    graded.clear()
    assert autograder_cli.main(["grade", "unet", str(tmp_path), "--out", str(out)]) == 0
    assert graded == [("unet", tmp_path, out)]  # a class's reports go where they are asked to
