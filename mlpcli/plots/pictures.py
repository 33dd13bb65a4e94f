"""``mlp plot`` as functions: run directories in, one matplotlib ``Figure`` out.

Every picture says what was trained: the title names the runs' common
config name and what they share (:func:`mlpcli.compare.describe`), and the
legend or the panel titles what differs between them
(:func:`mlpcli.compare.labels`), so three runs of one config at η = 0.1, 1
and 3 are told apart by η alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mlpcli import compare
from mlpcli.config import Config, load_config
from mlpcli.data.synthetic import TARGET_FUNCTIONS
from mlpcli.errors import ConfigError, ModelFileError
from mlpcli.files.model import SavedModel, load_model
from mlpcli.history import read_history
from mlpcli.inference import dataset_for, report, run_config
from mlpcli.plots import boundary, style
from mlpcli.plots.confusion import MAX_CLASSES, confusion_panel
from mlpcli.plots.curves import learning_curves
from mlpcli.plots.weights import weights_figure
from mlpcli.prepare import raw_splits


def _title(what: str, names: Sequence[str], configs: Sequence[Config]) -> str:
    """``What: name (what the runs share)``; the name only when the runs share one."""
    shared = compare.describe(configs[0], skip=compare.differing_fields(configs))
    common = compare.common_name(names)
    return f"{what}: {shared}" if common is None else f"{what}: {common} ({shared})"


def curves(paths: Sequence[Path], x: str = "epoch") -> Figure:
    """Learning curves of the runs, overlaid (see :mod:`mlpcli.plots.curves`)."""
    for p in paths:
        missing = [f for f in ("config.yaml", "metrics.csv") if not (Path(p) / f).is_file()]
        if missing:
            raise ModelFileError(f"{p}: not a run directory (no {' or '.join(missing)})")
    names = [compare.run_name(p) for p in paths]
    configs = [load_config(Path(p) / "config.yaml") for p in paths]
    histories = [read_history(p) for p in paths]
    empty = [str(p) for p, h in zip(paths, histories) if len(h) == 0]
    if len(empty) == len(paths):
        raise ModelFileError(
            f"{', '.join(empty)}: no epoch recorded in metrics.csv (no epoch of training "
            "completed), so there is no curve to draw"
        )
    metrics = {h.metric: p for p, h in zip(paths, histories) if len(h)}
    if len(metrics) > 1:  # one panel holds the task metric: accuracy and MSE share no axis
        (a, first), (b, second) = list(metrics.items())[:2]
        raise ConfigError(
            f"{first} reports {a} and {second} {b}: a classification and a regression run "
            "share no metric axis; plot them apart"
        )
    labels = [
        label + (" (no epoch recorded)" if len(h) == 0 else "")
        for label, h in zip(compare.labels(configs, names), histories)
    ]
    title = _title("Learning curves", names, configs)
    return learning_curves(histories, labels, title, x)


#: The most runs one picture of models draws (one panel or legend entry each): past
#: these, panels shrink below legibility and the layout gives up.
MAX_RUNS = {"--boundary": 8, "--weights": 8, "--confusion": 4}


def _models(paths: Sequence[Path], option: str) -> tuple[list[SavedModel], list[str], list[Config]]:
    if len(paths) > MAX_RUNS[option]:
        raise ConfigError(
            f"{option} draws at most {MAX_RUNS[option]} runs in one picture, got {len(paths)}: "
            "draw them in groups, or compare them with mlp runs"
        )
    saved = [load_model(p) for p in paths]
    return saved, [compare.run_name(p) for p in paths], [s.config for s in saved]


def _panels(
    n: int, width: float, height: float, extra: float = 0.0, least: float = 0.0
) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels of about ``width`` × ``height`` inches, as many to a row as
    :data:`style.MAX_WIDTH` holds with each narrowed by at most a fifth (further, they
    shrink until the layout gives up)."""
    columns = max(1, min(n, int(1.25 * style.MAX_WIDTH // width)))
    rows = -(-n // columns)
    fig = style.figure(max(width * columns + extra, least), height * rows)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, list(axes[:n])


def boundaries(paths: Sequence[Path]) -> Figure:
    """Decision regions (or fitted curves) of the runs, one panel each, side by side."""
    saved, names, configs = _models(paths, "--boundary")
    for s, name in zip(saved, names):
        boundary.check_drawable(s, name)
    fields = compare.differing_fields(configs)
    fig, axes = _panels(len(saved), 4.0, 4.6, extra=0.4, least=5.6)
    for ax, s, name, path in zip(axes, saved, names, paths):
        splits = raw_splits(run_config(path))
        what = compare.describe(s.config, only=fields) if fields else name
        lines = [what or name, boundary.accuracy_line(s, splits), boundary.not_drawn(splits)]
        title = "\n".join(line for line in lines if line)
        generator = getattr(s.config.data.train, "generator", None)
        boundary.draw(ax, boundary.Panel(s, splits, title, TARGET_FUNCTIONS.get(generator)))
    handles, labels = axes[0].get_legend_handles_labels()
    columns = min(len(labels), 2 * len(saved), 6)  # ~2 entries per 4-inch panel fit a row
    fig.legend(handles, labels, loc="outside lower center", ncol=columns)
    what = "Decision regions" if configs[0].data.task == "classification" else "Fitted curves"
    style.suptitle(fig, _title(what, names, configs))
    return fig


def weights(paths: Sequence[Path]) -> Figure:
    """Weight histograms of the runs, overlaid per layer; first-layer images for image inputs."""
    saved, names, configs = _models(paths, "--weights")
    title = _title("Weights", names, configs)
    return weights_figure(saved, compare.labels(configs, names), title)


def confusions(
    paths: Sequence[Path], data: Path | None = None, labels: Path | None = None
) -> Figure:
    """Confusion matrices of the runs on their held-out data (or ``data``), side by side."""
    saved, names, configs = _models(paths, "--confusion")
    for s, name in zip(saved, names):
        if s.config.data.task != "classification":
            raise ConfigError(f"{name}: --confusion needs a classification run, this is regression")
    side = 3.2 + 0.3 * min(max(len(s.classes) for s in saved), MAX_CLASSES)
    fig, axes = _panels(len(saved), side + 1.2, side)
    for ax, s, label, path in zip(axes, saved, compare.labels(configs, names), paths):
        dataset = dataset_for(s, data, targets=True, labels=labels, run=path)
        where = Path(dataset.source).name
        confusion_panel(
            fig, ax, report(s, dataset), f"{label}\n{where}" if len(saved) > 1 else where
        )
    style.suptitle(fig, _title("Confusion matrix", names, configs))
    return fig


#: The pictures ``mlp plot`` draws, by the name of their option (curves: none).
PICTURES: dict[str, Callable[..., Figure]] = {
    "curves": curves,
    "boundary": boundaries,
    "weights": weights,
    "confusion": confusions,
}
