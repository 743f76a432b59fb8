"""Signal health: readings per platform, the composite score, the trust gate and dry-runs."""
