"""Hyperparameter sweeps: expanding a sweep into trials, and running them.

``expand`` turns grid and random parameters into trials (pure, deterministic);
``runner`` runs trials as ordinary run directories in worker processes,
resuming interrupted ones and skipping finished ones; ``cluster`` writes the
same trials as commands for GNU parallel and as a Slurm job array.
"""
