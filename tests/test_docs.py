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
    for name in GUIDE_IMAGES:
        assert (ROOT / "docs" / "images" / name).is_file(), name
        assert name in CONCEPTS or name in APPLICATIONS, f"{name} is not written by nnci figures"


def test_nnci_figures_writes_the_concept_figures(tmp_path):
    written = write_all(tmp_path, applications=False, progress=lambda line: None)
    assert sorted(p.name for p in written) == sorted(CONCEPTS)
    for path in written:
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000
