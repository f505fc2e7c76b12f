"""Hostile input: each file finishes in seconds, named with its reason, in 2 GiB.

Fixtures are generated here (nothing large is committed). fixer runs in a child
process under an address-space limit and a timeout, as a CI job would run it on a
pull request it does not trust.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

LIMIT_AS = 2 << 30
TIMEOUT = 30          # seconds: a stall fails the test instead of hanging the suite


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def fixer(*args: str) -> subprocess.CompletedProcess:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "fixer.cli", *args], capture_output=True, text=True,
                          timeout=TIMEOUT, preexec_fn=_limited,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
    proc.seconds = time.monotonic() - start
    proc.output = proc.stdout + proc.stderr
    return proc


def repo(path: Path, files: dict[str, str | bytes], links: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True)
    for name, data in files.items():
        f = path / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data if isinstance(data, bytes) else data.encode())
    for name, target in (links or {}).items():
        os.symlink(target, path / name)
    git = ["git", "-C", str(path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "fixture"], check=True)
    return path


def alias_bomb(prefix: str, indent: str = "") -> tuple[str, str]:
    """Nine levels of nine aliases: 9^10 nodes once expanded, 100 in the file."""
    lines = [f"{indent}{prefix}0: &{prefix}0 [" + ", ".join(["x"] * 9) + "]"]
    for i in range(1, 10):
        lines.append(f"{indent}{prefix}{i}: &{prefix}{i} [" + ", ".join([f"*{prefix}{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n", f"*{prefix}9"


def check_named(proc, path: str, reason: str) -> None:
    assert f"{path}: {reason}" in proc.output, proc.output[-2000:]
    assert proc.seconds < TIMEOUT


BOMB = "alias expansion exceeds 10,000 nodes"


def test_alias_bomb_in_compose(tmp_path):
    bomb, ref = alias_bomb("x-a")
    r = repo(tmp_path / "r", {"docker-compose.yml": bomb + f"services:\n  web:\n    image: nginx:1.25\n"
                                                          f"    labels: {ref}\n"})
    check_named(fixer("plan", str(r), "--offline"), "docker-compose.yml", BOMB)
    check_named(fixer("check", str(r)), "docker-compose.yml", BOMB)


def test_alias_bomb_in_k8s_manifest(tmp_path):
    bomb, ref = alias_bomb("l", "  ")
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n" + bomb
            + "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
              f"          image: nginx:1.25\n          args: {ref}\n")
    r = repo(tmp_path / "r", {"deploy.yaml": text})
    check_named(fixer("plan", str(r), "--offline"), "deploy.yaml", BOMB)


def test_alias_bomb_in_workflow_and_helm_values(tmp_path):
    bomb, ref = alias_bomb("a")
    workflow = (bomb + "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n"
                f"      X: {ref}\n    steps:\n      - uses: actions/checkout@v4\n")
    chart = {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
             "chart/values.yaml": bomb + f"image:\n  repository: nginx\n  tag: '1.25'\nresources: {{}}\n"
                                  f"extra: {ref}\n",
             "chart/templates/deploy.yaml": (
                 "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n"
                 "  template:\n    spec:\n      containers:\n        - name: web\n"
                 "          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n"
                 "          resources:\n            {{- toYaml .Values.resources | nindent 12 }}\n")}
    r = repo(tmp_path / "r", {".github/workflows/ci.yml": workflow, **chart})
    proc = fixer("plan", str(r), "--offline")
    check_named(proc, ".github/workflows/ci.yml", BOMB)
    check_named(proc, "chart/values.yaml", BOMB)


def test_self_containing_alias(tmp_path):
    r = repo(tmp_path / "r", {"docker-compose.yml": "x-a: &a [1, *a]\nservices:\n  web:\n"
                                                     "    image: nginx:1.25\n    labels: *a\n"})
    proc = fixer("plan", str(r), "--offline")
    assert "docker-compose.yml: invalid YAML" in proc.output, proc.output


def test_60000_services(tmp_path):
    text = "services:\n" + "".join(f"  s{i}:\n    image: nginx:1.25\n" for i in range(60_000))
    r = repo(tmp_path / "r", {"docker-compose.yml": text})
    check_named(fixer("plan", str(r), "--offline"), "docker-compose.yml",
                "more than 100,000 YAML nodes (left alone)")


def test_400_levels_of_nesting(tmp_path):
    deep = "".join("  " * (3 + i) + f"k{i}:\n" for i in range(400)) + "  " * 403 + "v: 1\n"
    flow = "[" * 400 + "]" * 400
    r = repo(tmp_path / "r", {
        "docker-compose.yml": "services:\n  web:\n    image: nginx:1.25\n    x-deep:\n" + deep,
        "k8s/flow.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nx: {flow}\n"})
    proc = fixer("plan", str(r), "--offline", "--format", "json")
    assert proc.returncode in (0, 1), proc.output[-2000:]
    assert "docker-compose.yml" in proc.stdout      # the compose file is fixed, not refused
    assert proc.seconds < TIMEOUT


def test_binary_empty_latin1_utf16(tmp_path):
    r = repo(tmp_path / "r", {
        "bin/docker-compose.yml": bytes(range(256)) * 64,
        "bin/Dockerfile": b"\x00\xff\xfe" * 1000,
        "empty/docker-compose.yml": b"",
        "empty/Dockerfile": b"",
        "empty/k8s.yaml": b"",
        "latin1/docker-compose.yml": "services:\n  web:\n    image: nginx:1.25\n    labels:\n"
                                     "      a: caf\xe9\n".encode("latin-1"),
        "latin1/Dockerfile": "FROM python:3.12\n# caf\xe9\nCMD [\"python\"]\n".encode("latin-1"),
        "utf16/docker-compose.yml": "services:\n  web:\n    image: nginx:1.25\n".encode("utf-16"),
        "utf16/Dockerfile": "FROM python:3.12\nCMD [\"python\"]\n".encode("utf-16"),
    })
    proc = fixer("plan", str(r), "--offline")
    for path in ("bin/docker-compose.yml", "bin/Dockerfile", "utf16/docker-compose.yml", "utf16/Dockerfile"):
        check_named(proc, path, "binary file")
    check_named(proc, "latin1/docker-compose.yml", "not UTF-8 text")
    check_named(proc, "latin1/Dockerfile", "not UTF-8 text")
    check_named(proc, "empty/Dockerfile", "invalid Dockerfile: file with no instructions")


def test_symlinks_out_of_the_repository(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    before = {"Dockerfile": "FROM python:3.12\nCMD python app.py\n",
              "docker-compose.yml": "services:\n  web:\n    image: nginx\n"}
    for name, text in before.items():
        (outside / name).write_text(text)
    r = repo(tmp_path / "r", {"app/Dockerfile": "FROM python:3.12\nCMD python app.py\n"},
             links={"Dockerfile": str(outside / "Dockerfile"),
                    "docker-compose.yml": "../outside/docker-compose.yml",
                    "sub": str(outside)})
    reason = "symbolic link (never written through)"
    proc = fixer("plan", str(r), "--offline")
    check_named(proc, "Dockerfile", reason)
    check_named(proc, "docker-compose.yml", reason)
    assert "sub/" not in proc.output
    proc = fixer("apply", str(r), "--offline")
    assert proc.returncode == 0, proc.output[-2000:]
    tree = subprocess.run(["git", "-C", str(r), "ls-tree", "-r", "fixer/remediation"],
                          capture_output=True, text=True, check=True).stdout
    modes = {line.split("\t")[1]: line.split()[0] for line in tree.splitlines()}
    assert modes["Dockerfile"] == modes["docker-compose.yml"] == modes["sub"] == "120000"
    assert modes["app/Dockerfile"] == "100644"
    changed = subprocess.run(["git", "-C", str(r), "diff", "--name-only", "HEAD", "fixer/remediation"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert changed == ["app/Dockerfile"]
    for name, text in before.items():
        assert (outside / name).read_text() == text
