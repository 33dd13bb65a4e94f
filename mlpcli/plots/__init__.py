"""Pictures of runs: learning curves, decision regions, weights, confusion matrices.

The image files are drawn with matplotlib on its Agg backend (``style.py``
sets it); only ``mlp plot`` imports those modules, so every other command
starts without matplotlib. ``terminal.py`` draws the loss curve in the
terminal with plotext, imported only when a curve is drawn.

Each picture function takes what it draws (histories, models, data) and
returns a matplotlib ``Figure``; :func:`mlpcli.plots.style.save` writes it.
"""
