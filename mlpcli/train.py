"""The training loop: epochs of shuffled batches, SGD steps, validation, early stopping.

The loop never prints and never touches files. It reports each finished
epoch to ``on_epoch(record)`` and asks ``on_checkpoint(trainer, final)`` to
save; the CLI supplies rich tables and run-directory writers, tests supply
lists. Everything needed to continue a run exactly — counters, the shuffling
RNG's state at the start of the current epoch, running sums, early-stopping
state, optimizer buffers — lives in :class:`TrainState` and the arrays the
trainer exposes, so a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, astuple, dataclass, field, fields

import numpy as np

from mlpcli import build
from mlpcli.data.batching import Gather
from mlpcli.errors import DivergedError
from mlpcli.experiment import Experiment, Split, rng
from mlpcli.metrics import METRIC, data_loss, metric, regression_report
from mlpcli.optim import clip_grad_norm


@dataclass
class EpochRecord:
    """One row of metrics.csv. ``epoch`` counts from 1; ``step`` is the total after it."""

    epoch: int
    step: int
    train_loss: float
    val_loss: float | None
    train_metric: float
    val_metric: float | None
    lr: float
    batch_size: int
    seconds: float


@dataclass
class TrainState:
    """Where a run stands; JSON-serializable (saved by ``files/state.py``)."""

    epoch: int = 0  # finished epochs
    step: int = 0  # finished steps, over all epochs
    step_in_epoch: int = 0  # finished steps of the unfinished epoch
    epoch_rng: dict | None = None  # shuffling RNG state when the unfinished epoch began
    rng_state: dict | None = None  # shuffling RNG state now (saved with each checkpoint)
    dropout_rng: dict | None = None  # dropout masks' RNG state now (None: no dropout)
    loss_sum: float = 0.0  # Σ batch data loss · batch size, this epoch so far
    epoch_seconds: float = 0.0  # time spent in the unfinished epoch so far
    elapsed: float = 0.0  # seconds of training over all sessions
    lr: float = 0.0  # learning rate of the last step taken
    best_value: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0  # epochs since the last improvement
    stop_reason: str | None = None  # completed | early_stopping | interrupted | diverged
    history: list[EpochRecord] = field(default_factory=list)

    def to_saved(self) -> tuple[dict, np.ndarray]:
        """(the counters as a JSON-able dict, the history as an (epochs, 9) float64 table).

        The history is a tensor, not JSON, so a long run's state header stays
        small; float64 holds every value exactly (NaN stands for "none").
        """
        d = asdict(self)
        del d["history"]
        rows = [[np.nan if v is None else v for v in astuple(r)] for r in self.history]
        return d, np.array(rows, dtype=np.float64).reshape(-1, len(fields(EpochRecord)))

    @classmethod
    def from_saved(cls, d: dict, table: np.ndarray) -> TrainState:
        """Rebuild from :meth:`to_saved`; a field of the wrong type raises TypeError."""
        d = {"dropout_rng": None, **d}  # states written before dropout existed
        for f in fields(cls):
            if f.name != "history" and not _of_type(d.get(f.name, _MISSING), f.type):
                raise TypeError(f"{f.name} = {d.get(f.name, 'missing')!r} is not {f.type}")
        if min(d["epoch"], d["step"], d["step_in_epoch"], d["bad_epochs"]) < 0:
            raise TypeError("a counter is negative")
        if d.get("stop_reason") not in STOP_REASONS:
            raise TypeError(f"stop_reason = {d['stop_reason']!r} is not one of {STOP_REASONS}")

        def value(name: str, v: float) -> float | int | None:
            if name in ("epoch", "step", "batch_size"):
                if not (np.isfinite(v) and v == int(v) and v >= 0):
                    raise ValueError(f"history column {name} holds {v}")
                return int(v)
            return None if np.isnan(v) else float(v)

        names = [f.name for f in fields(EpochRecord)]
        history = [EpochRecord(**{k: value(k, v) for k, v in zip(names, row)}) for row in table]
        return cls(**d, history=history)


#: How a run can end (``None``: it has not).
STOP_REASONS = (None, "completed", "early_stopping", "interrupted", "diverged")
_MISSING = object()
_TYPES = {"int": (int,), "float": (int, float), "dict": (dict,), "str": (str,)}


def _of_type(value: object, annotation: str) -> bool:
    """Whether a JSON value fits a field annotated ``int``, ``float | None``, ``dict | None``..."""
    if value is _MISSING:
        return False
    allowed = annotation.replace(" ", "").split("|")
    if value is None:
        return "None" in allowed
    if isinstance(value, bool):  # JSON true is not an epoch count
        return False
    return any(isinstance(value, _TYPES[a]) for a in allowed if a in _TYPES)


def _lower_is_better(metric_name: str) -> bool:
    return metric_name != "val_accuracy"


class Trainer:
    """Trains ``exp.model`` in place on ``exp.train``.

    Parameters
    ----------
    on_epoch : callable(EpochRecord), optional
        Called after every epoch.
    on_checkpoint : callable(Trainer, bool), optional
        Called when the run should be saved: after epochs (``final=False``)
        and once when it stops for any reason (``final=True``).
    on_progress : callable(int, int), optional
        Called within an epoch, every 32 steps, with (examples done, examples in the
        epoch): a display can show progress through long epochs.
    should_stop : callable() -> bool, optional
        Polled after every step; True stops the run after that step with
        ``stop_reason = "interrupted"`` (the CLI's signal handler sets it).
    """

    def __init__(
        self,
        exp: Experiment,
        *,
        on_epoch: Callable[[EpochRecord], None] | None = None,
        on_checkpoint: Callable[[Trainer, bool], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        state: TrainState | None = None,
    ) -> None:
        self.exp = exp
        self.params = exp.model.parameters()
        self.schedule = build.schedule(exp.config)
        # η₀, not the first step's rate: under a long warmup that may round to 0, which a
        # step may take (it moves nothing) but an optimizer's default rate may not.
        self.optimizer = build.optimizer(exp.config, self.params, self.schedule.initial)
        self.objective = exp.objective()
        self.clip_norm = exp.config.train.clip_norm
        self.batches = build.batches(exp.config, len(exp.train))
        self.shuffle_rng = rng(exp.config.seed, "shuffle")
        self.state = state or TrainState()
        self.on_epoch = on_epoch or (lambda record: None)
        self.on_checkpoint = on_checkpoint or (lambda trainer, final: None)
        self.should_stop = should_stop or (lambda: False)
        self.on_progress = on_progress
        train = exp.train
        self.gather_x, self.gather_t = Gather(train.x), Gather(train.targets)
        self.gather_w = None if train.weights is None else Gather(train.weights)
        # Outputs of the current epoch's batches, for the running training metric.
        self.epoch_outputs = np.zeros((len(train), exp.model.n_outputs), dtype=exp.dtype)
        self.best_params: list[np.ndarray] | None = None
        self.last_good = [p.value.copy() for p in self.params]

    # -- the loop ---------------------------------------------------------------
    def run(self) -> TrainState:
        """Train until the configured epochs, early stopping, an interruption or divergence.

        Raises DivergedError (after restoring the last finite weights and
        saving) when the loss or a parameter stops being finite.
        """
        # Overflow is how divergence starts; every step checks the loss is finite and
        # every epoch the parameters, so NumPy's warnings would only repeat that, worse.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._run()

    def _run(self) -> TrainState:
        st = self.state
        try:
            if st.stop_reason is None and self.should_stop():  # asked while data was loading
                st.stop_reason = "interrupted"
            while st.stop_reason is None and st.epoch < self.exp.config.train.epochs:
                self._epoch()
        except DivergedError:
            st.stop_reason = "diverged"
            for p, good in zip(self.params, self.last_good):
                p.value[...] = good
            self.on_checkpoint(self, True)
            raise
        if st.stop_reason is None:
            st.stop_reason = "completed"
        self.on_checkpoint(self, True)
        return st

    def _order(self) -> np.ndarray:
        """This epoch's order of training examples (positions 0..n−1 in the split)."""
        st, n = self.state, len(self.exp.train)
        if st.step_in_epoch == 0:
            st.epoch_rng = self.shuffle_rng.bit_generator.state
        else:  # resuming mid-epoch: replay the epoch's permutation
            self.shuffle_rng.bit_generator.state = st.epoch_rng
        if self.exp.config.train.shuffle and self.batches.mode != "batch":
            return self.shuffle_rng.permutation(n)
        return np.arange(n)

    def _epoch(self) -> None:
        st, exp = self.state, self.exp
        train: Split = exp.train
        started = time.perf_counter()
        order = self._order()
        size = self.batches.size_at(st.epoch)
        n = len(train)
        whole = size >= n and train.rows is None  # batch mode on an unsplit set: no copy at all
        if whole:  # one batch of every example in stored order; the drawn order is moot
            order = np.arange(n)
        rows = order if train.rows is None else train.rows[order]
        objective, optimizer = self.objective, self.optimizer
        outputs_buffer = self.epoch_outputs
        lr = self.schedule(st.epoch, st.step)
        per_step_lr = self.schedule.unit == "step"
        weights, wb = train.weights, None
        on_progress = self.on_progress
        for start in range(st.step_in_epoch * size, n, size):
            stop = min(start + size, n)
            if whole:
                xb, tb, wb = train.x, train.targets, weights
            elif size == 1:  # stochastic: a view of one row, nothing to copy
                r = rows[start]
                xb, tb = train.x[r : r + 1], train.targets[r : r + 1]
                wb = None if weights is None else weights[r : r + 1]
            else:
                batch_rows = rows[start:stop]
                xb, tb = self.gather_x(batch_rows), self.gather_t(batch_rows)
                wb = None if weights is None else self.gather_w(batch_rows)
            if per_step_lr:
                lr = self.schedule(st.epoch, st.step)
            optimizer.zero_grad()
            e = objective.step(xb, tb, wb)
            value = float(e.total.value)
            if not math.isfinite(value):
                self._diverged(f"the loss is {value}")
            objective.backward()
            if self.clip_norm is not None:
                clip_grad_norm(self.params, self.clip_norm)
            optimizer.step(lr)
            st.lr = lr  # the rate actually used (a resumed epoch may have no steps left)
            outputs_buffer[start:stop] = e.outputs.value
            data_loss = value if e.data is e.total else float(e.data.value)
            st.loss_sum += data_loss * (stop - start)
            st.step += 1
            st.step_in_epoch += 1
            if on_progress is not None and not st.step_in_epoch & 31:
                on_progress(stop, n)
            if self.should_stop():
                st.epoch_seconds += time.perf_counter() - started
                st.elapsed += time.perf_counter() - started
                st.stop_reason = "interrupted"
                return
        self._end_epoch(rows, size, started)

    def _end_epoch(self, rows: np.ndarray, size: int, started: float) -> None:
        """``rows``: the epoch's examples in the order their outputs were buffered."""
        st, exp = self.state, self.exp
        for p in self.params:
            if not np.isfinite(p.value).all():
                self._diverged(f"parameter {p.name} is no longer finite")
        n = len(exp.train)
        labels = exp.train.labels[rows]
        outputs = exp.model.in_target_units(self.epoch_outputs)  # a copy when targets are scaled
        train_metric = metric(exp.task, exp.head, outputs, labels)
        train_loss = st.loss_sum / n
        if outputs is not self.epoch_outputs:  # report ½ Σ_k (y_k − t_k)² in the targets' units
            train_loss = data_loss(exp.head, outputs, labels)
        val_loss = val_metric = None
        if exp.validation is not None:
            val_loss, val_metric = measure(exp, exp.validation)
        seconds = st.epoch_seconds + time.perf_counter() - started
        record = EpochRecord(
            epoch=st.epoch + 1,
            step=st.step,
            train_loss=train_loss,
            val_loss=val_loss,
            train_metric=train_metric,
            val_metric=val_metric,
            lr=st.lr,
            batch_size=size,
            seconds=seconds,
        )
        st.history.append(record)
        st.elapsed += time.perf_counter() - started
        st.epoch += 1
        st.step_in_epoch, st.loss_sum, st.epoch_seconds, st.epoch_rng = 0, 0.0, 0.0, None
        m = METRIC[exp.task]
        self.schedule.observe(
            {"train_loss": train_loss, "val_loss": val_loss, f"val_{m}": val_metric}
        )
        self._early_stopping(record)
        self.last_good = [p.value.copy() for p in self.params]
        self.on_epoch(record)
        more = st.epoch < exp.config.train.epochs
        if st.stop_reason is None and more and self.should_stop():
            st.stop_reason = "interrupted"
        if st.stop_reason is None and more:
            self.on_checkpoint(self, False)  # the last epoch's save is run()'s final one

    def _early_stopping(self, record: EpochRecord) -> None:
        stop = self.exp.config.train.early_stopping
        if stop is None:
            return
        st = self.state
        value = record.val_loss if stop.metric == "val_loss" else record.val_metric
        lower = _lower_is_better(stop.metric)
        improved = st.best_value is None or (
            value < st.best_value - stop.min_delta
            if lower
            else value > st.best_value + stop.min_delta
        )
        if improved:
            st.best_value, st.best_epoch, st.bad_epochs = value, record.epoch, 0
            if stop.restore_best:
                self.best_params = [p.value.copy() for p in self.params]
        else:
            st.bad_epochs += 1
            if st.bad_epochs >= stop.patience:
                st.stop_reason = "early_stopping"

    def _diverged(self, what: str) -> None:
        st = self.state
        lr = self.schedule(st.epoch, st.step)
        raise DivergedError(
            f"training diverged at epoch {st.epoch + 1}, step {st.step + 1}: {what} "
            f"(learning rate {lr:g}); the last finite weights were kept",
            lr,
        )

    # -- what a checkpoint saves ---------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """Every array a resumed run needs besides :class:`TrainState`, by name."""
        out = {f"params.{p.name}": p.value for p in self.params}
        out.update({f"optimizer.{k}": v for k, v in self.optimizer.state().items()})
        out.update({f"schedule.{k}": v for k, v in self.schedule.state().items()})
        if self.best_params is not None:
            out.update({f"best.{p.name}": b for p, b in zip(self.params, self.best_params)})
        if self.state.step_in_epoch:
            out["running.outputs"] = self.epoch_outputs
        return out

    def snapshot(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(state as a dict, arrays) for a checkpoint; records the RNG's position first."""
        self.state.rng_state = self.shuffle_rng.bit_generator.state
        dropout_rng = self.exp.model.dropout_rng
        if any(self.exp.model.dropout) and dropout_rng is not None:
            self.state.dropout_rng = dropout_rng.bit_generator.state
        state, history = self.state.to_saved()
        return state, {**self.arrays(), "history": history}

    def restore(self, state: TrainState, arrays: dict[str, np.ndarray]) -> None:
        """Continue from a checkpoint taken with :meth:`snapshot`.

        Raises ValueError for a state no run of this network could have saved
        (non-finite weights, an RNG state NumPy refuses).
        """
        for p in self.params:
            saved = arrays[f"params.{p.name}"]
            if not np.isfinite(saved).all():  # a run saves only finite weights
                raise ValueError(f"params.{p.name} holds NaN or infinite values")
            p.value[...] = saved
        self.optimizer.load_state(_prefixed(arrays, "optimizer."))
        self.schedule.load_state(_prefixed(arrays, "schedule."))
        if f"best.{self.params[0].name}" in arrays:
            self.best_params = [arrays[f"best.{p.name}"].copy() for p in self.params]
        if state.step_in_epoch:
            self.epoch_outputs[...] = arrays["running.outputs"]
        self.shuffle_rng.bit_generator.state = state.rng_state
        if state.step_in_epoch:  # checked now, not at the first step of the resumed epoch
            np.random.default_rng().bit_generator.state = state.epoch_rng
        if state.dropout_rng is not None:
            self.exp.model.dropout_rng.bit_generator.state = state.dropout_rng
        self.state = state
        self.last_good = [p.value.copy() for p in self.params]

    def release(self) -> None:
        """Leave the model holding the weights the run releases: the best epoch's with
        restore_best (unless interrupted: a resumed run continues from the last), else the
        last. Call once the run has stopped and its state is saved."""
        if self.best_params is not None and self.state.stop_reason != "interrupted":
            for p, best in zip(self.params, self.best_params):
                p.value[...] = best


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _outputs_and_truth(exp: Experiment, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """The model's outputs on a split and what the loss compares them with, both in the
    targets' own units (regression: the raw targets; classification: the head's encoding)."""
    outputs = exp.model.outputs(split.x, raw=False, rows=split.rows)
    truth = split.labels if exp.task == "regression" else split.targets
    return outputs, split.selected(truth)


def measure(exp: Experiment, split: Split) -> tuple[float, float]:
    """(data loss, task metric) of the model as it stands on one split."""
    outputs, truth = _outputs_and_truth(exp, split)
    loss = data_loss(exp.head, outputs, truth, split.selected(split.weights))
    return loss, metric(exp.task, exp.head, outputs, split.selected(split.labels))


def evaluate(exp: Experiment, split: Split) -> dict:
    """The summary's report on a split: loss and accuracy, or loss, MSE, MAE and R²."""
    outputs, truth = _outputs_and_truth(exp, split)
    out = {"loss": data_loss(exp.head, outputs, truth, split.selected(split.weights))}
    if exp.task == "regression":
        out.update(regression_report(outputs, truth))
    else:
        out["accuracy"] = metric(exp.task, exp.head, outputs, split.selected(split.labels))
    out["n"] = len(split)
    return out


__all__ = ["METRIC", "EpochRecord", "TrainState", "Trainer", "evaluate", "measure"]
