"""Compatibility knowledge: data files (TOML, each fact with its source) and typed loaders."""
