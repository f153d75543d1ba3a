"""The one exception type users see: a message that names the problem and its fix."""


class LlmeconError(Exception):
    """An input or usage problem to report in one line (CLI: exit status 2)."""
