"""compose-ports-loopback, compose-unconfined, gha-persist-credentials, gha-template-injection:
the decisions beyond their inline examples."""
from __future__ import annotations

from codemods.gha_template_injection import contexts, env_name
from tests.helpers import fix, write_tree


def _run(tmp_path, files, codemod):
    write_tree(tmp_path, files)
    result = fix(tmp_path, only=[codemod], offline=True)
    findings = [f for cs in result.changesets for f in cs.findings]
    skips = [s.reason for cs in result.changesets for s in cs.skips]
    assert not [f for f in findings if f.status == "dropped"], [f.note for f in findings]
    return findings, skips


# -- compose-ports-loopback ------------------------------------------------------

def test_caddy_and_envsubst_nginx_are_evidence(tmp_path):
    compose = ("services:\n  caddy:\n    image: caddy:2\n    ports: ['443:443']\n"
               "    volumes: [./Caddyfile:/etc/caddy/Caddyfile]\n"
               "  api:\n    image: acme/api\n    ports: ['8000-8001:8000-8001', '[::]:9000:9000']\n"
               "  web:\n    build: ./web\n    ports:\n      - {target: 80, published: 8080, host_ip: 0.0.0.0}\n"
               "  gw:\n    image: nginx:1\n    environment: [UP=web:80]\n"
               "    volumes: [./tpl:/etc/nginx/templates]\n"
               "  other:\n    image: acme/other\n    ports: ['7000:7000', '7001']\n")
    findings, skips = _run(tmp_path, {
        "compose.yaml": compose,
        "Caddyfile": "example.com {\n  reverse_proxy api:9000\n}\n",
        "tpl/default.conf.template": "server { location / { proxy_pass http://${UP}; } }\n"}, "compose-ports-loopback")
    out = (tmp_path / "compose.yaml").read_text()
    assert "'8000-8001:8000-8001', '127.0.0.1:9000:9000'" in out
    assert any("port '8000-8001:8000-8001' is not the one the proxy uses (9000)" in s for s in skips)
    assert "{target: 80, published: 8080, host_ip: 127.0.0.1}" in out
    assert "'7000:7000', '7001'" in out and "'443:443'" in out
    assert sorted(f.message.split()[1] for f in findings) == ["api", "web"]
    assert any("service other" in s and "no reverse proxy" in s for s in skips)
    assert any("service caddy is the reverse proxy" in s for s in skips)


def test_an_application_config_naming_a_service_is_not_a_proxy(tmp_path):
    files = {"compose.yaml": "services:\n  prometheus:\n    image: prom/prometheus\n    ports: [9090:9090]\n"
                             "  grafana:\n    image: grafana/grafana\n    ports: [3000:3000]\n"
                             "    volumes: [./grafana:/etc/grafana/provisioning/datasources]\n",
             "grafana/datasource.yml": "datasources:\n  - url: http://prometheus:9090\n"}
    findings, skips = _run(tmp_path, files, "compose-ports-loopback")
    assert findings == []
    assert (tmp_path / "compose.yaml").read_text() == files["compose.yaml"]
    assert len([s for s in skips if "no reverse proxy" in s]) == 2


# -- compose-unconfined ----------------------------------------------------------

def test_unconfined_kept_when_a_comment_or_the_build_says_why(tmp_path):
    files = {"compose.yaml": "services:\n  dbg:\n    image: acme/api\n"
                             "    # required for delve, see the wiki\n    security_opt:\n      - seccomp:unconfined\n"
                             "  pdf:\n    build: ./pdf\n    security_opt: [seccomp:unconfined]\n"
                             "  lost:\n    build: ./missing\n    security_opt: [apparmor:unconfined]\n"
                             "  api:\n    image: acme/api\n    security_opt: [label:disable, seccomp=unconfined]\n",
             "pdf/Dockerfile": "FROM node:20\nRUN apt-get update && apt-get install -y chromium\nCMD [\"node\", \"x.js\"]\n"}
    findings, skips = _run(tmp_path, files, "compose-unconfined")
    out = (tmp_path / "compose.yaml").read_text()
    assert "security_opt: [label:disable]\n" in out
    assert [f.message.split()[1] for f in findings] == ["api"]
    assert any("dbg" in s and "a comment says why" in s for s in skips)
    assert any("pdf" in s and "chromium" in s for s in skips)
    assert any("lost" in s and "cannot be read" in s for s in skips)


# -- gha-persist-credentials -----------------------------------------------------

WF = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n{rest}"


def test_later_use_through_scripts_local_actions_and_release_tools(tmp_path):
    files = {
        ".github/workflows/a.yml": WF.format(rest="      - run: ./scripts/publish.sh\n"),
        "scripts/publish.sh": "#!/bin/sh\nset -e\nmake dist\ngit push origin HEAD:gh-pages\n",
        ".github/workflows/b.yml": WF.format(rest="      - uses: ./.github/actions/bump\n"),
        ".github/actions/bump/action.yml": "runs:\n  using: composite\n  steps:\n"
                                           "    - run: git tag v1 && git push --tags\n      shell: bash\n",
        ".github/workflows/c.yml": WF.format(rest="      - run: npx semantic-release\n"),
        ".github/workflows/d.yml": WF.format(rest="      - run: echo 'git push'  # only a mention\n"),
        ".github/workflows/e.yml": WF.format(rest="      - run: make\n").replace(
            "@v4\n", "@v4\n        with: {token: '${{ secrets.BOT }}'}\n"),
    }
    findings, skips = _run(tmp_path, files, "gha-persist-credentials")
    assert [f.path for f in findings if f.status == "fixed"] == [".github/workflows/d.yml"]
    text = " | ".join(skips)
    assert "scripts/publish.sh runs `git push`" in text
    assert "local action ./.github/actions/bump runs `git push`" in text
    assert "`semantic-release`" in text
    assert "checks out with its own token" in text


# -- gha-template-injection ------------------------------------------------------

def test_contexts_follow_the_shell_quoting():
    script = ('echo "a ${{ github.head_ref }}" \'${{ github.head_ref }}\' ${{ github.head_ref }}\n'
              '# ${{ github.head_ref }}\ncat <<EOF\n${{ github.head_ref }}\nEOF\n'
              'cat <<\'EOF\'\n${{ github.head_ref }}\nEOF\necho "$(echo ${{ github.head_ref }})"\n')
    assert [s.where for s in contexts(script)] == [
        "double", "single", "bare", "comment", "heredoc", "heredoc-quoted", "bare"]
    assert env_name("${{ github.event.pull_request.head.ref }}") == "HEAD_REF"
    assert env_name("${{ github.event.issue.title || 'x' }}") == "ISSUE_TITLE"


def test_injection_names_avoid_other_values_and_skip_what_cannot_be_rewritten(tmp_path):
    wf = ("on: issues\nenv:\n  ISSUE_TITLE: fixed\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
          "      - run: echo ${{ github.event.issue.title }} ${{ github.event.issue.title }}\n"
          "      - run: \"echo ${{ github.event.issue.body }}\"\n"
          "      - run: |\n          cat <<'EOF'\n          ${{ github.event.comment.body }}\n          EOF\n")
    findings, skips = _run(tmp_path, {".github/workflows/t.yml": wf}, "gha-template-injection")
    out = (tmp_path / ".github/workflows/t.yml").read_text()
    assert 'run: echo "${ISSUE_TITLE_2}" "${ISSUE_TITLE_2}"\n' in out
    assert "        env:\n          ISSUE_TITLE_2: ${{ github.event.issue.title }}\n" in out
    assert len(findings) == 1
    assert any("quoted YAML" in s for s in skips)
    assert any("heredoc-quoted" in s for s in skips)


def test_variable_addresses_and_shared_memory_users_are_left_alone(tmp_path):
    files = {"compose.yaml": "services:\n  t:\n    image: traefik:v3\n"
                             "  app:\n    image: acme/app\n    ports: ['${BIND:-0.0.0.0}:${PORT:-80}:80', '${PORT:-81}:81']\n"
                             "    labels: [traefik.http.routers.app.rule=Host(`a`)]\n"
                             "    shm_size: 1g\n    security_opt: [seccomp:unconfined]\n"}
    write_tree(tmp_path, files)
    fix(tmp_path, only=["compose-ports-loopback", "compose-unconfined"], offline=True)
    out = (tmp_path / "compose.yaml").read_text()
    assert "ports: ['${BIND:-0.0.0.0}:${PORT:-80}:80', '127.0.0.1:${PORT:-81}:81']" in out
    assert "security_opt: [seccomp:unconfined]" in out


def test_computed_values_move_unquoted_and_constants_stay(tmp_path):
    wf = ("on:\n  workflow_dispatch:\n    inputs:\n      debug: {type: boolean}\n      tag: {type: string}\n"
          "jobs:\n  t:\n    runs-on: ubuntu-latest\n"
          "    strategy:\n      matrix:\n        shard: ${{ fromJSON(needs.plan.outputs.shards) }}\n"
          "    steps:\n      - run: echo x=1 >> \"$GITHUB_ENV\"\n"
          "      - run: make ${{ matrix.shard }} ${{ inputs.debug }} \"${{ inputs.tag }}\" ${{ env.x }} ${{ env.y }}\n")
    findings, skips = _run(tmp_path, {".github/workflows/t.yml": wf}, "gha-template-injection")
    out = (tmp_path / ".github/workflows/t.yml").read_text()
    assert ('run: make ${MATRIX_SHARD} ${{ inputs.debug }} "${INPUTS_TAG}" ${x} ${{ env.y }}\n'
            "        env:\n          MATRIX_SHARD: ${{ matrix.shard }}\n          INPUTS_TAG: ${{ inputs.tag }}\n") in out
    (f,) = findings
    assert f.confidence == "medium" and "pastes" in f.message


def test_env_values_the_workflow_does_not_set_stay_with_a_reason(tmp_path):
    wf = ("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
          "      - run: echo ${{ env.FROM_AN_ACTION }} ${{ github.ref_name }}\n")
    findings, skips = _run(tmp_path, {".github/workflows/t.yml": wf}, "gha-template-injection")
    assert "run: echo ${{ env.FROM_AN_ACTION }} ${REF_NAME}\n" in (tmp_path / ".github/workflows/t.yml").read_text()
    assert any("env.FROM_AN_ACTION is not set by this workflow" in s for s in skips)
