"""The files mlpcli writes and reads back: atomic writes, safetensors, model and state files."""
