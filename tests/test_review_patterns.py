"""Patterns from maintainer reviews of fixer's branches on real repositories (own fixtures)."""
from __future__ import annotations

from tests.helpers import fix, write_tree


def _skips(result, cid):
    return [s.reason for cs in result.changesets if cs.codemod.id == cid for s in cs.skips]


def _changed(result, cid):
    return {p for cs in result.changesets if cs.codemod.id == cid for p in cs.changes}


HARDENING = ["compose-no-new-privileges", "compose-read-only", "compose-cap-drop", "compose-networks",
             "compose-restart"]


def test_a_devcontainer_compose_file_is_a_development_environment(tmp_path):
    write_tree(tmp_path, {
        ".devcontainer/devcontainer.json": '{\n  // VS Code\n  "dockerComposeFile": "docker-compose.dev.yml",\n'
                                           '  "service": "dev",\n}\n',
        ".devcontainer/docker-compose.dev.yml": "services:\n  dev:\n    build: .\n    command: sleep infinity\n"
                                                "  db:\n    image: postgres:16\n",
    })
    result = fix(tmp_path, only=HARDENING, write=False)
    for cid in HARDENING:
        assert not _changed(result, cid), cid
    assert any("development environment (.devcontainer/devcontainer.json" in r
               for r in _skips(result, "compose-no-new-privileges"))


def test_the_project_compose_file_lends_only_its_service_to_the_devcontainer(tmp_path):
    write_tree(tmp_path, {
        ".devcontainer/devcontainer.json": '{"dockerComposeFile": ["../compose.yaml"], "service": "app"}\n',
        "compose.yaml": "services:\n  app:\n    image: example/app:1\n    user: \"1000\"\n"
                        "  web:\n    image: example/web:1\n    user: \"1000\"\n",
    })
    result = fix(tmp_path, only=["compose-no-new-privileges"], write=False)
    text = result.changesets[0].changes["compose.yaml"][1]
    web, app = text.split("  web:")[1], text.split("  web:")[0]
    assert "no-new-privileges" in web and "no-new-privileges" not in app


def test_no_new_privileges_leaves_services_that_add_capabilities_as_non_root(tmp_path):
    write_tree(tmp_path, {"compose.yaml": (
        "services:\n"
        "  office:\n    image: example/office:24\n    cap_add: [SYS_ADMIN, SYS_CHROOT, CHOWN]\n"
        "  vpn:\n    image: example/vpn:1\n    user: root\n    cap_add: [NET_ADMIN]\n"
        "  web:\n    image: example/web:1\n")})
    result = fix(tmp_path, only=["compose-no-new-privileges"], write=False)
    text = result.changesets[0].changes["compose.yaml"][1]
    office = text.split("  office:")[1].split("  vpn:")[0]
    assert "no-new-privileges" not in office
    assert text.count("no-new-privileges") == 2          # vpn (root) and web
    assert any("file capabilities or setuid" in r for r in _skips(result, "compose-no-new-privileges"))


def test_cap_drop_leaves_a_datastore_whose_command_runs_through_a_shell(tmp_path):
    write_tree(tmp_path, {"compose.yaml": (
        "services:\n"
        "  cache:\n    image: valkey/valkey:8\n    command: sh -c \"valkey-server --appendonly yes\"\n"
        "  queue:\n    image: valkey/valkey:8\n    command: valkey-server --appendonly yes\n")})
    result = fix(tmp_path, only=["compose-cap-drop"], write=False)
    text = result.changesets[0].changes["compose.yaml"][1]
    assert "cap_drop" not in text.split("  queue:")[0]
    assert "cap_drop: [ALL]" in text.split("  queue:")[1]
    assert any("runs its command through sh" in r for r in _skips(result, "compose-cap-drop"))


def test_dockerfile_user_leaves_an_explicit_user_root(tmp_path):
    write_tree(tmp_path, {
        "proxy/Dockerfile": "FROM alpine:3.20\nRUN apk add --no-cache haproxy\n"
                            "USER root\nCMD [\"haproxy\", \"-f\", \"/cfg\"]\n",
        "app/Dockerfile": "FROM alpine:3.20\nRUN apk add --no-cache haproxy\nCMD [\"haproxy\", \"-f\", \"/cfg\"]\n",
    })
    result = fix(tmp_path, only=["dockerfile-user"], write=False)
    assert _changed(result, "dockerfile-user") == {"app/Dockerfile"}
    assert any("sets USER root explicitly" in r for r in _skips(result, "dockerfile-user"))


def test_dockerfile_user_leaves_user_root_marked_for_hadolint_and_holds_back_other_explicit_roots(tmp_path):
    write_tree(tmp_path, {
        "proxy/Dockerfile": "FROM haproxy:3.0-alpine\n# hadolint ignore=DL3002\nUSER root\n"
                            "RUN apk add --no-cache bash\nENTRYPOINT [\"/start.sh\"]\n",
        "web/Dockerfile": "FROM haproxy:3.0-alpine\nUSER root\nRUN apk add --no-cache bash\n"
                          "ENTRYPOINT [\"/start.sh\"]\n",
    })
    result = fix(tmp_path, only=["dockerfile-user"], write=False)
    assert any("hadolint ignore=DL3002" in r for r in _skips(result, "dockerfile-user"))
    findings = [f for cs in result.changesets for f in cs.findings]
    assert [f.path for f in findings] == ["web/Dockerfile"]
    assert findings[0].safety == "unsafe"
