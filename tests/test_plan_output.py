"""The text plan is written at once, the same content on a terminal and in a pipe."""
from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from rich.text import Text

from fixer import config, runner
from fixer.discovery import WorkTree
from fixer.report import plain_rule, print_plan

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "audit-repo"


class Counting(io.StringIO):
    writes = 0

    def write(self, s):
        self.writes += 1
        return super().write(s)

    def isatty(self):
        return False


def _plan(terminal: bool) -> Counting:
    s = config.load(EXAMPLE)
    s.offline = True
    result = runner.run(WorkTree(EXAMPLE, use_git=False), s, root=EXAMPLE)
    buf = Counting()
    print_plan(result.changesets, [("x/" + str(i), "binary file") for i in range(25)], result.errors,
               result.secrets, Console(file=buf, width=90, force_terminal=terminal, no_color=not terminal,
                                       highlight=False, soft_wrap=True))
    return buf


def test_one_write_and_same_content_on_a_terminal():
    plain, term = _plan(False), _plan(True)
    assert plain.writes == 1 and term.writes <= 2
    text = plain.getvalue()
    assert text.count("\n") > 500 and "… and 5 more (--verbose)" in text
    assert re.sub(r"\x1b\[[0-9;]*m", "", term.getvalue()) == text


def test_plain_rule_matches_rich():
    for width in (20, 37, 80, 81, 120):
        for title in ("x", "compose-networks: Put datastores on an internal network", "a" * 130, "ab"):
            buf = io.StringIO()
            Console(file=buf, width=width, no_color=True, force_terminal=False).rule(Text(title))
            assert buf.getvalue() == plain_rule(title, width) + "\n", (width, title)
