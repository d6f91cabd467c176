"""The course's pages, in the chapter's order; each module holds one section."""
from __future__ import annotations

from ..controls import Page, registry
from . import applications, layers, neurons, training

PAGES: dict[str, Page] = registry([*neurons.PAGES, *layers.PAGES, *training.PAGES, *applications.PAGES])
