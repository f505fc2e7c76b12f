"""examples/serve-mirror.py: its stand-in digests stay in the demo's own cache."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from fixer.cli import app
from fixer.registry.cache import FILE_NAME

from .conftest import _need_registry

ROOT = Path(__file__).resolve().parents[2]


def test_demo_uses_its_own_cache(tmp_path):
    _need_registry()
    user_cache = Path(os.environ["XDG_CACHE_HOME"]) / "fixer"
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "serve-mirror.py")],
                            stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = ""
        for line in proc.stdout:
            if line.strip().startswith("fixer plan"):
                break
        args = line.split()
        assert args[:2] == ["fixer", "plan"], line
        demo_cache = Path(args[args.index("--cache-dir") + 1])
        res = CliRunner().invoke(app, args[1:])
        assert res.exit_code == 1, res.output   # changes proposed
        assert "@sha256:" in res.output
        assert (demo_cache / FILE_NAME).exists()
        assert not (user_cache / FILE_NAME).exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
