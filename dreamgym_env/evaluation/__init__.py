"""Evaluation of experience models (fidelity against the real engines)."""
