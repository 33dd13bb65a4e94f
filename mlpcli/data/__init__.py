"""Datasets: loaders (CSV, NPZ, IDX), built-in generators, preprocessing and batching."""
