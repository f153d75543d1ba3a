"""llmecon: paid LLM API or self-hosted open model, with measured, sourced numbers."""

__version__ = "0.1.0"
__all__ = ["__version__"]
