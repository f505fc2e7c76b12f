"""Compose codemods: schema-valid goldens, secrets never written, helpers."""
from __future__ import annotations

from pathlib import Path

import pytest

from fixer import golden
from fixer.compose import env_pairs, expand, family, lookup, major, overlay, service_map, split_image
from fixer.validate import compose_errors
from fixer.yamldoc import YamlFile, scalar
from tests.helpers import fix, write_tree

GOLDEN = Path(golden.GOLDEN)
COMPOSE_IDS = ["compose-networks", "compose-privileged", "compose-cap-drop", "compose-no-new-privileges",
               "compose-read-only", "compose-healthcheck", "compose-resource-limits", "compose-secrets",
               "compose-restart", "compose-ports-loopback", "compose-unconfined"]
EXPECTED = sorted(p for p in GOLDEN.glob("compose-*/*/expected/**/*")
                  if p.is_file() and p.suffix in (".yml", ".yaml") and "services:" in p.read_text("utf-8"))


def test_every_compose_codemod_has_goldens():
    from codemods import all_codemods

    ids = {c.id for c in all_codemods() if c.id.startswith("compose-")}
    assert ids == set(COMPOSE_IDS)
    for cid in ids:
        assert list((GOLDEN / cid).glob("*/input")), cid


@pytest.mark.parametrize("path", EXPECTED, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_golden_output_is_schema_valid(path):
    assert compose_errors(path.read_text("utf-8")) == set()


def test_audit_stack_is_hardened():
    text = (GOLDEN / "compose-stack/audit/expected/docker-compose.yml").read_text("utf-8")
    doc = YamlFile("docker-compose.yml", text)
    svcs = service_map(doc)
    assert sorted(svcs) == ["api", "beat", "bot", "db", "frontend", "redis", "worker"]
    assert all(lookup(doc, s, "security_opt") is not None for s in svcs.values())
    assert all(lookup(doc, s, "restart") is not None for s in svcs.values())
    assert scalar(lookup(doc, svcs["db"], "networks").value[0]) == "backend"
    assert lookup(doc, svcs["db"], "healthcheck") is not None
    assert lookup(doc, svcs["api"], "privileged") is not None        # own build: reported, not guessed
    for literal in ("s3cr3t-db-pass", "very-secret-jwt", "123456:ABC-telegram"):
        for f in (GOLDEN / "compose-stack/audit/expected").rglob("*"):
            if f.is_file():
                assert literal not in f.read_text("utf-8"), f
    env = (GOLDEN / "compose-stack/audit/expected/.env.example").read_text("utf-8")
    assert env.splitlines() == ["POSTGRES_PASSWORD=change-me", "JWT_SECRET=change-me", "TELEGRAM_TOKEN=change-me"]


def test_secret_literals_are_masked_and_never_written(tmp_path):
    write_tree(tmp_path, {
        "a/compose.yaml": "services:\n  db:\n    image: postgres\n    environment:\n"
                          "      - POSTGRES_PASSWORD=Zx9-literal\n",
        "a/compose.prod.yaml": "services:\n  db2:\n    image: postgres\n    environment:\n"
                               "      POSTGRES_PASSWORD: Zx9-literal\n",
    })
    result = fix(tmp_path, only=["compose-secrets"])
    assert "Zx9-literal" in result.secrets
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert "Zx9-literal" not in p.read_text("utf-8")
    assert (tmp_path / "a/.env.example").read_text("utf-8") == "POSTGRES_PASSWORD=change-me\n"
    notes = [n for cs in result.changesets for n in cs.notes]
    assert any("POSTGRES_PASSWORD" in n for n in notes)
    assert not fix(tmp_path, only=["compose-secrets"]).changed


def test_existing_env_example_is_appended_not_replaced(tmp_path):
    write_tree(tmp_path, {
        "compose.yaml": "services:\n  app:\n    image: x/app\n    environment:\n      API_KEY: k-123\n"
                        "      DB_PASSWORD: d-456\n",
        ".env.example": "API_KEY=your-key",
    })
    fix(tmp_path, only=["compose-secrets"])
    assert (tmp_path / ".env.example").read_text("utf-8") == "API_KEY=your-key\nDB_PASSWORD=change-me\n"


def test_overlay_is_not_given_networks_or_conflicting_keys(tmp_path):
    base = "services:\n  db:\n    image: postgres:16\n  app:\n    build: .\n    restart: \"no\"\n"
    over = "services:\n  app:\n    ports: [\"8000:8000\"]\n"
    write_tree(tmp_path, {"docker-compose.yml": base, "docker-compose.override.yml": over})
    fix(tmp_path, only=COMPOSE_IDS)
    assert (tmp_path / "docker-compose.override.yml").read_text("utf-8") == over
    out = (tmp_path / "docker-compose.yml").read_text("utf-8")
    assert "restart: \"no\"" in out and out.count("restart:") == 2   # db gets one, app keeps "no"
    assert compose_errors(out) == set()


def test_anchor_is_never_edited(tmp_path):
    text = ("x-common: &common\n  image: redis:7\n  environment:\n    REDIS_PASSWORD: lit-1\n\n"
            "services:\n  a:\n    <<: *common\n  b:\n    <<: *common\n    restart: always\n")
    write_tree(tmp_path, {"compose.yaml": text})
    fix(tmp_path, only=COMPOSE_IDS)
    out = (tmp_path / "compose.yaml").read_text("utf-8")
    assert out.startswith(text[: text.index("services:")])     # the anchor block is byte-identical
    assert compose_errors(out) == set()


@pytest.mark.parametrize("image,fam", [
    ("postgres:16-alpine", "postgres"), ("docker.io/library/redis:7@sha256:" + "a" * 64, "redis"),
    ("bitnami/postgresql:15", "postgres"), ("${IMG:-mariadb:11}", "mariadb"), ("${IMG}", None),
    ("registry.example.com:5000/team/nginx", "nginx"), ("example/app", None), ("mongo", "mongo"),
])
def test_family(image, fam):
    assert family(image) == fam


def test_helpers():
    assert expand("${A:-x}/${B-y}/${C}/${D:?e}") == "x/y//"
    assert split_image("localhost:5000/pg:16") == ("localhost:5000/pg", "16")
    assert major("mongo:4.4") == 4 and major("redis") is None
    doc = YamlFile("c.yaml", "x: &x {read_only: true}\nservices:\n  a:\n    <<: *x\n    image: nginx\n"
                             "    environment: [A=1, B]\n  b:\n    extends: a\n  c:\n    environment: {}\n")
    svcs = service_map(doc)
    assert scalar(lookup(doc, svcs["a"], "read_only")) == "true"
    assert scalar(lookup(doc, svcs["b"], "image")) == "nginx"
    assert [(k, v) for k, v, *_ in env_pairs(lookup(doc, svcs["a"], "environment"))] == [("A", "1"), ("B", None)]
    assert overlay(doc)   # c has neither image nor build
