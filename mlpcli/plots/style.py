"""One look for every picture: colours, markers, sizes, fonts, and an atomic save.

Colours are the Okabe–Ito palette, distinguishable with every common colour
vision deficiency; each series also gets its own marker or line style, so a
picture printed in greyscale still tells them apart. Heat maps use
``cividis``, whose lightness rises monotonically (greyscale keeps its order).
"""

from __future__ import annotations

import contextlib
import io
import struct
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
    size = (_whole_pixels(min(width, MAX_WIDTH)), _whole_pixels(height))
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _whole_pixels(inches: float) -> float:
    """``inches`` snapped to a whole number of pixels, plus a quarter pixel: 4.6 in × 100
    dpi is 459.99…, which some matplotlib versions truncate and others round; 460.25
    gives 460 pixels under both."""
    return (round(inches * DPI) + 0.25) / DPI


def suptitle(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to its width (about ten characters per inch at 12 pt)."""
    fig.suptitle(textwrap.fill(text, int(fig.get_figwidth() * 10)))


def save(fig: Figure, path: Path, inputs: Iterable[Path] = ()) -> tuple[int, int]:
    """Write ``fig`` to ``path`` (PNG, SVG or PDF by its suffix) as ``--out`` files are
    written (``files.atomic.write_output``: atomically, a symlink followed, a FIFO
    written through, never over one of ``inputs`` or a run's own files).

    Returns (width, height) in pixels: the figure's size (no tight bounding box), as
    the PNG's header states it. Read there, not recomputed: 4.6 in × 100 dpi is
    459.99…, which matplotlib versions round to different integers.
    """
    buffer = io.BytesIO()
    fmt = FORMATS[Path(path).suffix.lower()]
    fig.savefig(buffer, format=fmt, dpi=DPI)
    data = buffer.getvalue()
    write_output(Path(path), data, inputs=inputs)
    if fmt == "png":  # IHDR: width and height, big-endian, after the 8-byte signature
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    width, height = fig.get_size_inches() * DPI
    return round(width), round(height)
