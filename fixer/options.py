"""Command-line options shared by several commands: one definition each."""
from __future__ import annotations

import typer

Only = typer.Option(None, "--only", metavar="ID,...", help="Run only these codemods (comma-separated ids).")
Skip = typer.Option(None, "--skip", metavar="ID,...", help="Do not run these codemods (comma-separated ids).")
Exclude = typer.Option(None, "--exclude", metavar="GLOB", help="Paths to leave alone (repeatable).")


def network(default: str) -> typer.models.OptionInfo:
    """--online/--offline; `default` names the command's default for the help text."""
    return typer.Option(None, "--online/--offline", show_default=False,
                        help=f"Allow or forbid network look-ups (registries, git tags). Default: {default}, "
                             "or `offline` in the config.")


Mirror = typer.Option(None, "--registry-mirror", metavar="HOST=URL",
                      help="Resolve a registry through a mirror: docker.io=http://127.0.0.1:5000 (repeatable).")
Insecure = typer.Option(None, "--insecure-registry", metavar="HOST",
                        help="Allow plain HTTP for this registry host (repeatable).")
CacheDir = typer.Option(None, "--cache-dir", metavar="DIR", help="Digest cache directory (default: ~/.cache/fixer).")
Refresh = typer.Option(False, "--refresh", help="Ignore cached digests.")
Output = typer.Option(None, "--output", "-o", metavar="FILE", help="Write the output to this file (atomically).")
Verbose = typer.Option(False, "--verbose", "-v", help="Also list every file not scanned, with the reason.")
