"""The OpenAI-compatible gateway of `llmecon serve`: keys, routing, relaying, the cost ledger."""
