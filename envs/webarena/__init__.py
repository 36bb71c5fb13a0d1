"""The webarena domain."""
