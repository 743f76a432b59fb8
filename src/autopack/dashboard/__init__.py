"""Dashboard endpoints: run status, usage, model mappings and overrides, token metrics, A/B results, human notes."""
