"""Every Python code block in the README and in the guide (docs/*.md) runs as written, and every picture
the guide shows exists and is one that `nnci figures` writes."""
import re
from pathlib import Path

import pytest

from nnci.figures import APPLICATIONS, CONCEPTS, write_all

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BLOCKS = [(page, index, block) for page in PAGES
          for index, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S))]
GUIDE_IMAGES = sorted({name for page in PAGES if page.parent.name == "docs"
                       for name in re.findall(r"\(images/([^)]+)\)", page.read_text())})


def test_there_is_code_to_check_on_most_pages():
    assert len({page for page, _, _ in BLOCKS}) >= 8


@pytest.mark.parametrize("page, index, block", BLOCKS, ids=[f"{p.name}-{i}" for p, i, _ in BLOCKS])
def test_python_block_runs(page, index, block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks may write files
    exec(compile(block, f"{page.name} block {index}", "exec"), {"__name__": "__docs__"})


def test_every_guide_picture_exists_and_nnci_figures_makes_it():
    assert GUIDE_IMAGES
    from nnci.learn.pages import PAGES as LEARN_PAGES
    for name in GUIDE_IMAGES:
        assert (ROOT / "docs" / "images" / name).is_file(), name
        if name.startswith("learn/"):  # screenshots of nnci learn, taken by docs/learn_screenshots.py
            assert name[len("learn/"):-len(".png")] in [*LEARN_PAGES, "index"], name
        elif name.startswith("benchmarks/"):  # drawn from measured runs by a script of benchmarks/
            scripts = " ".join(path.read_text() for path in (ROOT / "benchmarks").glob("*.py"))
            assert f'"{name.split("/")[-1]}"' in scripts, f"{name} is not drawn by a script of benchmarks/"
        else:
            assert name in CONCEPTS or name in APPLICATIONS, f"{name} is not written by nnci figures"


def test_nnci_figures_writes_the_concept_figures(tmp_path):
    written = write_all(tmp_path, applications=False, progress=lambda line: None)
    assert sorted(p.name for p in written) == sorted(CONCEPTS)
    for path in written:
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000


@pytest.mark.parametrize("name", ["denoise_demo.png", "hdr.png"])
def test_an_application_figure_comes_from_the_task_api(name, tmp_path):
    picture = APPLICATIONS[name](tmp_path)
    assert picture.is_file() and tmp_path in picture.parents
    assert picture.read_bytes()[:4] == b"\x89PNG" and picture.stat().st_size > 10_000


COMMANDS = [(page, line) for page in PAGES + [ROOT / "nnci" / "weights" / "README.md"]
            for block in re.findall(r"```sh\n(.*?)```", page.read_text(), flags=re.S)
            for line in block.splitlines()]


def nnci_commands(line: str) -> list[list[str]]:
    """The nnci invocations of one shell line (comments, `&&` chains, environment prefixes and mpiexec removed)."""
    import shlex
    words = shlex.split(line, comments=True)
    commands, current = [], []
    for word in words + ["&&"]:
        if word == "&&":
            if current and current[0] == "mpiexec" and "nnci" in current:  # mpiexec -n N [--hosts H] nnci ...
                current = current[current.index("nnci"):]
            if current and current[0] == "nnci":
                commands.append(current[1:])
            current = []
        elif not (not current and re.fullmatch(r"[A-Z_]+=\S*", word)):
            current.append(word)
    return commands


def test_every_nnci_command_in_the_docs_parses():
    from nnci.cli import build_parser
    parser = build_parser()
    checked = 0
    for page, line in COMMANDS:
        for argv in nnci_commands(line):
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"{page.name}: `nnci {' '.join(argv)}` does not parse")
            checked += 1
    assert checked >= 40


def test_without_bm3d_the_bm3d_comparison_is_not_redrawn(tmp_path, monkeypatch):
    from nnci.tasks import denoise
    monkeypatch.setattr(denoise, "bm3d_denoise", lambda noisy, sigma: None)
    assert APPLICATIONS["denoise_vs_bm3d.png"](tmp_path) is None
