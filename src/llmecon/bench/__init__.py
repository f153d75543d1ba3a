"""`llmecon bench`: measure an OpenAI-compatible endpoint (load generator, metrics, health)."""
