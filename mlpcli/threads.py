"""BLAS threads: how many the matrix products of one process may use.

NumPy's BLAS (OpenBLAS, MKL, BLIS) starts one thread per core by default.
That is right for one run on an idle machine and wrong for N runs side by
side, which then ask for N × cores threads and slow each other down. The
limit is set through ``threadpoolctl``, which knows every BLAS build's own
call for it, after NumPy is loaded (environment variables such as
``OPENBLAS_NUM_THREADS`` only work if set before).

The count comes from ``--threads N``, else the environment variable
``MLP_THREADS``, else the library's default.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from mlpcli.errors import UsageError

#: The environment variable that gives the thread count when ``--threads`` does not.
ENV = "MLP_THREADS"


def requested(option: int | None) -> int | None:
    """The thread count asked for: the option, else ``$MLP_THREADS``, else None (the default)."""
    if option is not None:
        if option < 1:
            raise UsageError(f"--threads {option}: must be ≥ 1")
        return option
    text = os.environ.get(ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{ENV}={text!r}: must be a whole number ≥ 1")
    return int(text)


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit every loaded BLAS to ``n`` threads inside the block (None: leave it alone)."""
    if n is None:
        yield
        return
    import numpy  # noqa: F401  (threadpoolctl limits the libraries loaded so far)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def in_effect() -> int | None:
    """The number of threads the BLAS uses now (the largest, if several are loaded)."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(counts) if counts else None


def cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
