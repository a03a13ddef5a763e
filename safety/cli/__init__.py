"""The `vigil` command line: a thin shell around `safety` functions; each module adds commands."""

from __future__ import annotations

import sys

from safety.cli.app import UserError, app, fail

# Each module registers its commands on `app` when imported.
from safety.cli import core  # noqa: E402,F401
from safety.cli import boundaries  # noqa: E402,F401
from safety.cli import signals  # noqa: E402,F401
from safety.cli import pfs  # noqa: E402,F401
from safety.cli import grade  # noqa: E402,F401
from safety.cli import results  # noqa: E402,F401
from safety.cli import service  # noqa: E402,F401
from safety.cli import alerts  # noqa: E402,F401
from safety.cli import listing  # noqa: E402,F401
from safety.cli import users  # noqa: E402,F401
from safety.cli import dashboard  # noqa: E402,F401


def main() -> None:
    try:
        app()
    except UserError as exc:
        raise SystemExit(fail(str(exc)).exit_code) from None
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
