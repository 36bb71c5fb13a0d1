"""Training the experience model: teacher annotation, SFT data, SFT."""
