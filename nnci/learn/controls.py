"""The controls of a page (sliders, choices, text) and the page itself: what the browser draws, what the
server accepts. One spec serves both, so a value the page can send is a value the server checks."""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterator

from ..tasks.options import UserError


@dataclasses.dataclass(frozen=True)
class Slider:
    """A number in [low, high] on a grid of `step` (a range input with a number beside it)."""
    name: str
    label: str
    low: float
    high: float
    step: float
    default: float
    integer: bool = False

    def read(self, text: str) -> float | int:
        """The value of `text`, or UserError naming the control and its range."""
        try:
            value = float(text)
        except (TypeError, ValueError):
            value = math.nan
        if not (self.low <= value <= self.high) or (self.integer and value != int(value)):
            kind = "a whole number" if self.integer else "a number"
            raise UserError(f"{self.name}: expected {kind} in [{self.low:g}, {self.high:g}], got {text!r}")
        return int(value) if self.integer else value

    def spec(self) -> dict:
        return {"type": "slider", **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of a few named options (a select)."""
    name: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, what the learner reads)
    default: str

    def read(self, text: str) -> str:
        values = [value for value, _ in self.options]
        if text not in values:
            raise UserError(f"{self.name}: expected one of {', '.join(values)}, got {text!r}")
        return text

    def spec(self) -> dict:
        return {"type": "choice", **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class Text:
    """A line of text (a function of x, say), checked by the page's compute function."""
    name: str
    label: str
    default: str
    max_length: int = 500

    def read(self, text: str) -> str:
        if len(text) > self.max_length:
            raise UserError(f"{self.name}: at most {self.max_length} characters, got {len(text)}")
        return text

    def spec(self) -> dict:
        return {"type": "text", **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class Upload(Text):
    """A file the learner uploads: the page posts it first, then sends the token the server gave back."""

    def spec(self) -> dict:
        return {"type": "upload", **dataclasses.asdict(self)}


Control = Slider | Choice | Text


@dataclasses.dataclass(frozen=True)
class Page:
    """One section of the course: its controls and the function from their values to the panels shown.
    A streaming page's compute yields panel updates (the training page: the loss curve as it grows)."""
    slug: str
    title: str
    section: str
    intro: str
    controls: tuple[Control, ...]
    compute: Callable[[dict], Any]
    stream: bool = False
    upload: bool = False  # the page takes a file (POST /api/<slug>/upload)

    def read(self, query: dict[str, str]) -> dict:
        """The checked value of every control: the query's where given, else the default."""
        unknown = sorted(set(query) - {control.name for control in self.controls})
        if unknown:
            raise UserError(f"{self.slug}: unknown control {unknown[0]!r}; this page has "
                            f"{', '.join(control.name for control in self.controls)}")
        return {control.name: control.read(query.get(control.name, str(control.default))) for control in self.controls}

    def spec(self) -> dict:
        return {"slug": self.slug, "title": self.title, "section": self.section, "intro": self.intro,
                "stream": self.stream, "upload": self.upload, "controls": [c.spec() for c in self.controls]}


def registry(pages: Iterator[Page] | list[Page]) -> dict[str, Page]:
    """Pages by slug, in course order; a repeated slug is a programming error."""
    found: dict[str, Page] = {}
    for page in pages:
        if page.slug in found:
            raise ValueError(f"two pages are called {page.slug!r}")
        found[page.slug] = page
    return found
