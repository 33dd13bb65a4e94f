"""mlpcli: train and understand multi-layer perceptrons from YAML config files."""

__version__ = "0.1.0"
