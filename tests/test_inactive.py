"""Inactive trees (backups, snapshots, archived workflows) are left alone and listed."""
from __future__ import annotations

import pytest

from fixer import inactive
from tests.helpers import fix, write_tree

COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"


@pytest.mark.parametrize("path", [
    "backup_20250705_135353/docker-compose.yml",
    "deploy/app-deployment-20250704-060443/compose.yml",
    "backup_compose_files/docker-compose.prod.yml",
    "backups/scripts_cleanup/build.sh",
    "archive/Dockerfile",
    "old/k8s/api.yaml",
    "docker/Dockerfile.bak",
    "compose.yml.orig",
    ".github/workflows/archive/ci.yml",
    "backend/.github/workflows/ci.yml",
])
def test_inactive_paths(path):
    assert inactive.reason(path)


@pytest.mark.parametrize("path", [
    "docker-compose.yml", "services/api/Dockerfile", ".github/workflows/ci.yml",
    "deploy/k8s/api.yaml", "Dockerfile.uv", "charts/app/templates/backup-cronjob.yaml",
    "build/v2/Dockerfile", "mcp-servers/old-reader/Dockerfile.production", "releases/2025/compose.yml",
])
def test_active_paths(path):
    assert inactive.reason(path) is None


def test_inactive_files_are_not_changed_and_are_listed(tmp_path):
    write_tree(tmp_path, {"compose.yml": COMPOSE, "backup_20250705_135353/compose.yml": COMPOSE,
                          "backup_20250705_135353/sub/compose.yml": COMPOSE,
                          ".github/workflows/archive/ci.yml": "on: push\njobs: {}\n"})
    result = fix(tmp_path, only=["compose-no-new-privileges"], write=False)
    changed = {p for cs in result.changesets for p in cs.changes}
    assert changed == {"compose.yml"}
    listed = dict(result.skipped_files)
    assert listed["backup_20250705_135353/"].startswith("inactive: in backup_20250705_135353/")
    assert sum(p.startswith("backup_") for p in listed) == 1   # the folder once, not each file


def test_configuration_brings_inactive_trees_back(tmp_path):
    write_tree(tmp_path, {"old/compose.yml": COMPOSE, "archive/compose.yml": COMPOSE})
    everything = fix(tmp_path, only=["compose-no-new-privileges"], write=False, **{"include-inactive": True})
    assert {p for cs in everything.changesets for p in cs.changes} == {"old/compose.yml", "archive/compose.yml"}
    some = fix(tmp_path, only=["compose-no-new-privileges"], write=False, **{"include-inactive": ["old/*"]})
    assert {p for cs in some.changesets for p in cs.changes} == {"old/compose.yml"}
