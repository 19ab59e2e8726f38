"""One exception root for everything the user can cause or fix.

Raise where the problem is found, with a one-line message that names the file, line or rule,
and a hint when one helps. Only the CLI turns these into output and exit codes. Messages
never contain a found value or a key.
"""

from __future__ import annotations


class PiiscanError(Exception):
    """Base of every error piiscan reports to the user (exit status 2)."""

    kind = "error"

    def __init__(self, message: str, hint: str = "", *, setting: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # The setting whose value is at fault (`packs`, `only`), where the place that finds
        # the problem cannot tell whether a flag, the environment or a config file gave it:
        # the CLI's edge names that place.
        self.setting = setting

    def __str__(self) -> str:
        return self.message


class UsageError(PiiscanError):
    kind = "usage error"


class ConfigError(PiiscanError):
    kind = "config error"


class RulePackError(PiiscanError):
    kind = "rule pack error"


class ScanError(PiiscanError):
    """The scan of one document could not complete (e.g. a regex timed out)."""

    kind = "scan error"


class KeyMaterialError(PiiscanError):
    kind = "key error"


class RedactionError(PiiscanError):
    kind = "redaction error"
