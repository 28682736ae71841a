"""Per-item statistics computed from a model (cached stages), e.g. reference-solution perplexity."""
