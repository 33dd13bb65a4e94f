"""The files mlpcli writes and reads back: atomic writes, safetensors, model and state files."""

#: The files a run directory holds (docs/design.md, "Run directory").
RUN_FILES = ("config.yaml", "model.safetensors", "metrics.csv", "summary.json", "state.safetensors")
