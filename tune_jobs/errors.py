"""User-facing errors: each renders as one line and maps to exit code 2."""

from __future__ import annotations

__all__ = ["FieldError", "SpecError", "UserError"]


class UserError(Exception):
    """A mistake in what the user gave us (a spec, a flag, a path).

    The CLI prints ``str(error)`` as a single line and exits with code 2; no
    traceback is shown and nothing is started.
    """

    def __str__(self) -> str:
        # Collapse to one line whatever the message, so the CLI contract holds.
        return " ".join(super().__str__().split())


class SpecError(UserError):
    """A sweep spec is invalid.

    Args:
        source: the file the spec came from (or ``<set>`` for ``--set`` overrides).
        key_path: dotted path of the offending key, e.g. ``space.lr.loguniform``.
        problem: what is wrong, ideally "got X; allowed: Y".
    """

    def __init__(self, source: str, key_path: str, problem: str) -> None:
        self.source = source
        self.key_path = key_path
        self.problem = problem
        where = f"{source}: {key_path}" if key_path else source
        super().__init__(f"{where}: {problem}")


class FieldError(ValueError):
    """Raised by a config dataclass's ``__post_init__`` to blame one field.

    The spec loader catches it and appends ``field`` to the key path, so users see
    ``spec.yaml: search.num_samples: must be >= 1; got 0``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)
