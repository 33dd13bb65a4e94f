"""One look for every picture: colours, markers, sizes, fonts, and an atomic save.

Colours are the Okabe–Ito palette, distinguishable with every common colour
vision deficiency; each series also gets its own marker or line style, so a
picture printed in greyscale still tells them apart. Heat maps use
``cividis``, whose lightness rises monotonically (greyscale keeps its order).
"""

from __future__ import annotations

import contextlib
import io
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display, the same pixels on every machine; pyplot is never used

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from mlpcli.files.atomic import write_output

#: Okabe & Ito (2008): blue, orange, bluish green, reddish purple, sky blue, vermillion,
#: yellow, black.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]
#: A sequential colormap that survives greyscale and colour blindness.
SEQUENTIAL = "cividis"

#: Pixels per inch of every picture: a 9-inch figure is 900 pixels wide.
DPI = 100
#: The widest picture, in inches (fits a README column at full resolution).
MAX_WIDTH = 12.0

RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.facecolor": "white",
}

#: Output formats matplotlib writes, by --out suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def marker(i: int) -> str:
    return MARKERS[i % len(MARKERS)]


def region_color(i: int, strength: float = 0.3) -> tuple[float, float, float]:
    """Class i's colour blended with white: the tint of its decision region."""
    r, g, b = to_rgb(color(i))
    return (1 - strength + strength * r, 1 - strength + strength * g, 1 - strength + strength * b)


@contextlib.contextmanager
def context() -> Iterator[None]:
    """Draw and save inside this block: the shared fonts and grid."""
    with matplotlib.rc_context(RC):
        yield


def figure(width: float, height: float) -> Figure:
    """A figure of ``width`` × ``height`` inches (at most :data:`MAX_WIDTH` wide), laid out
    with the constrained layout and drawn by the Agg canvas."""
    fig = Figure(figsize=(min(width, MAX_WIDTH), height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def suptitle(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to its width (about ten characters per inch at 12 pt)."""
    fig.suptitle(textwrap.fill(text, int(fig.get_figwidth() * 10)))


def save(fig: Figure, path: Path, inputs: Iterable[Path] = ()) -> None:
    """Write ``fig`` to ``path`` (PNG, SVG or PDF by its suffix) as ``--out`` files are
    written (``files.atomic.write_output``: atomically, a symlink followed, a FIFO
    written through, never over one of ``inputs`` or a run's own files).

    The image has exactly the figure's size in pixels (no tight bounding box).
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format=FORMATS[Path(path).suffix.lower()], dpi=DPI)
    write_output(Path(path), buffer.getvalue(), inputs=inputs)
