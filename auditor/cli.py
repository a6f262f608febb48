"""Command-line interface: parse arguments, call the pipeline stages, print, return an exit code.

No analysis happens here. Exit codes (shared by every command):
0 ok, 1 findings or gate failed, 2 usage or configuration error, 3 internal error.
"""

from __future__ import annotations

import sys

import typer
from typer._click import exceptions as click_exceptions  # typer 0.2x vendors click

from auditor.exceptions import AuditorError

OK, FAILED, USAGE, INTERNAL = 0, 1, 2, 3

app = typer.Typer(
    name="auditor",
    help="Are our tests real, did they run, and how done are we actually?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Audit a pytest project: inventory, run, observe, probe, score, report, gate."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; errors become one line on stderr, never a traceback."""
    try:
        result = app(args=argv, standalone_mode=False)
    except AuditorError as exc:
        print(f"auditor: error: {exc} [{exc.slug}]", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        return FAILED
    except click_exceptions.NoArgsIsHelpError:
        app(args=["--help"], standalone_mode=False)
        return OK
    except typer.Exit as exc:
        return int(exc.exit_code)
    except click_exceptions.ClickException as exc:
        exc.show()
        return USAGE
    except typer.Abort:
        print("auditor: aborted", file=sys.stderr)
        return FAILED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 3
        print(f"auditor: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return INTERNAL
    return int(result or 0)


@app.command("version")
def version_command() -> int:
    """Print the auditor's version."""
    from auditor import __version__

    typer.echo(f"auditor {__version__}")
    return OK
