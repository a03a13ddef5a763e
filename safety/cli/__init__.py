"""The `vigil` command line: a thin shell around `safety` functions; each module adds commands."""

from __future__ import annotations

import os
import sys

from safety.cli import (  # noqa: F401  each module registers its commands on `app` when imported
    alerts,
    boundaries,
    core,
    dashboard,
    grade,
    listing,
    pfs,
    results,
    service,
    signals,
    users,
)
from safety.cli.app import UserError, app, fail
from safety.config import ConfigError


def main() -> None:
    try:
        app()
    except (UserError, ConfigError) as exc:
        raise SystemExit(fail(str(exc)).exit_code) from None
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # an operator gets one line; VIGIL_DEBUG=1 shows the traceback for a bug report
        if os.environ.get("VIGIL_DEBUG"):
            raise
        raise SystemExit(fail(f"unexpected {type(exc).__name__}: {exc} (VIGIL_DEBUG=1 for details)", 2).exit_code) from None


__all__ = ["app", "main"]
