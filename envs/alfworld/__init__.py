"""The alfworld domain."""
