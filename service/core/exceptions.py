"""The project's known errors, each with the exit code `paxcast` ends with when it meets one.

    PaxcastError                 exit 1   base: the CLI prints the message as one line
    ├── UsageError               exit 2   a flag or setting that cannot work (e.g. --dropout 1.5)
    │   └── MissingExtra         exit 2   a command needs an optional extra: pip install 'paxcast[train]'
    ├── DataError                exit 3   a data file breaks a rule (file, line, rule)
    ├── ModelError               exit 1   a registry entry is missing, incomplete or fails a load check
    │   └── VersionRefused       exit 1   a version failed a check; what was served keeps serving
    ├── RegistryBusy             exit 75  another retrain or rollback holds the model's lock (EX_TEMPFAIL)
    ├── StoreUnavailable         exit 1   the store (PAXCAST_STORE) cannot be parsed, reached or migrated
    └── InvalidInput             (HTTP 422) a request the model cannot answer; names the series and rule

Anything else that escapes a command is a bug: a traceback and exit 1, never a one-liner.
"""

from __future__ import annotations


class PaxcastError(Exception):
    """A known failure whose message is one complete line."""

    exit_code = 1


class UsageError(PaxcastError):
    """Settings or flags that cannot work together."""

    exit_code = 2


class MissingExtra(UsageError):
    """The command needs an optional dependency set that is not installed."""

    def __init__(self, command: str, extra: str, module: str):
        super().__init__(
            f"`paxcast {command}` needs the '{extra}' extra ({module} is not installed): pip install 'paxcast[{extra}]'"
        )


class DataError(PaxcastError):
    """A series file breaks a rule; the message is one line: file, line, rule."""

    exit_code = 3


class ModelError(PaxcastError):
    """A registry entry is missing, incomplete, does not match its hashes or fails its load check."""


class VersionRefused(ModelError):
    """A version failed a check; the version already served keeps serving."""


class RegistryBusy(PaxcastError):
    """Another process holds the registry lock of this model."""

    exit_code = 75


class StoreUnavailable(PaxcastError):
    """The store cannot be opened; the message names the setting (PAXCAST_STORE or --store) and the URL."""


class InvalidInput(PaxcastError, ValueError):
    """A request asks for something the model cannot answer; the message names the series and the rule."""
