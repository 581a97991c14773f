"""Listings: the course's own code, shown in the chapter that teaches it.

`show_code(build_compact_cnn)` displays the real source of a function or class from
`helpers/`, syntax-highlighted, with the file and line where it lives. The listing is
made by `inspect.getsource` when the cell runs, so what a chapter shows is the code
that runs, never a copy. Each listing's output carries the qualified names of what it
shows (output metadata `listing`): the report keeps those outputs open, and
`tests/test_listings.py` checks that every function a notebook shows is one that the
notebook really runs.
"""

from __future__ import annotations

import html
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from helpers.config import PROJECT_ROOT

LISTING_KEY = "listing"
"""The output metadata key that names what a listing shows."""
LISTING_CSS = (
    "div.listing pre, div.listing .highlight { background: transparent !important; margin: 0; "
    "white-space: pre; font-family: var(--jp-code-font-family, ui-monospace, monospace); line-height: 1.35; }"
)
"""Code font, no wrapping, and the listing's own background, over JupyterLab's and nbconvert's `pre`."""
STYLE = "friendly"
"""Pygments colour scheme, written inline so listings look the same in JupyterLab and the report."""


def unwrap(obj: Any) -> Callable[..., Any] | type:
    """The function behind a property, static or class method; anything else as it is."""
    if isinstance(obj, property):
        return obj.fget
    return getattr(obj, "__func__", obj)


def qualified_name(obj: Any) -> str:
    """'helpers.models.build_compact_cnn': the module and qualified name of a function or class."""
    obj = unwrap(obj)
    return f"{obj.__module__}.{obj.__qualname__}"


def source_of(obj: Any) -> str:
    """The source of a function or class, dedented (a method's source starts indented)."""
    return textwrap.dedent(inspect.getsource(unwrap(obj))).rstrip() + "\n"


def where(obj: Any) -> str:
    """'helpers/models.py, line 83': where a function or class is defined."""
    obj = unwrap(obj)
    path = Path(inspect.getsourcefile(obj) or "?").resolve()
    shown = path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) else path.name
    return f"{shown}, line {inspect.getsourcelines(obj)[1]}"


@dataclass(frozen=True)
class Listing:
    """The source of some functions or classes, one after another or side by side."""

    objects: tuple[Any, ...]
    columns: int = 1

    @property
    def names(self) -> list[str]:
        """The qualified name of each object shown."""
        return [qualified_name(obj) for obj in self.objects]

    def text(self) -> str:
        """The plain sources, each under a comment saying where it lives."""
        return "\n".join(f"# {where(obj)}\n{source_of(obj)}" for obj in self.objects)

    def html(self) -> str:
        """The highlighted sources as HTML with inline styles (no stylesheet needed)."""
        formatter = HtmlFormatter(style=STYLE, noclasses=True)
        blocks = []
        for obj in self.objects:
            caption = (
                f"<code>{html.escape(unwrap(obj).__qualname__)}</code>"
                f' <span style="color:#777">({html.escape(where(obj))})</span>'
            )
            code = highlight(source_of(obj), PythonLexer(), formatter)
            blocks.append(
                '<figure style="flex:1 1 0; min-width:0; margin:0">'
                f'<figcaption style="font-size:0.85em; margin:0 0 2px">{caption}</figcaption>'
                '<div style="overflow-x:auto; font-size:0.9em; background:#f6f8fa; '
                f'border-left:3px solid #4C72B0; padding:2px 8px">{code}</div></figure>'
            )
        direction = "row" if self.columns > 1 else "column"
        return (
            f"<style>{LISTING_CSS}</style>"
            f'<div class="listing" style="display:flex; flex-direction:{direction}; gap:12px; '
            f'margin:4px 0 8px">{"".join(blocks)}</div>'
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        """HTML for notebooks and the report, plain text elsewhere; metadata naming what is shown."""
        return {"text/html": self.html(), "text/plain": self.text()}, {LISTING_KEY: self.names}


def show_code(*objects: Any, side_by_side: bool = False) -> Listing:
    """A listing of the real source of `objects` (functions, classes, methods or properties), for
    a notebook cell to display; `side_by_side` puts them in columns, for comparison."""
    if not objects:
        raise ValueError("show_code needs at least one function or class")
    for obj in objects:
        if not (inspect.isfunction(unwrap(obj)) or inspect.isclass(unwrap(obj))):
            raise TypeError(f"show_code shows functions and classes, not {type(obj).__name__}")
    return Listing(tuple(objects), columns=len(objects) if side_by_side else 1)
