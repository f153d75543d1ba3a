"""Renderers: plain results in, text or figures out. They compute nothing."""
