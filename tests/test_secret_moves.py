"""Moving secrets so the application still starts: placeholders stay, one variable per value,
every place of a moved value follows, env templates that load, workflows and manifests."""
from __future__ import annotations

import pytest

from fixer.interpolate import InterpolationError, compose_problems, interpolate, parse_env, required
from fixer.secrets import dummy_note, occurrences, placeholder

from .helpers import fix, git, init_repo, write_tree


def _findings(result, codemod=None):
    return [f for cs in result.changesets for f in cs.findings if codemod in (None, cs.codemod.id)]


def _skips(result):
    return [s for cs in result.changesets for s in cs.skips]


def _loads(root, compose, template):
    text = (root / compose).read_text("utf-8")
    env = parse_env((root / template).read_text("utf-8")) if (root / template).exists() else {}
    return compose_problems(text, env)


# -- interpolation ---------------------------------------------------------------

def test_interpolation_forms():
    env = {"A": "a", "E": ""}
    assert interpolate("${A}-$A-${B:-d}-${E:-d}-${E-d}-${B-d}", env).text == "a-a-d-d--d"
    assert interpolate("${A:+r}${E:+r}${E+s}${B+t}", env).text == "rs"
    assert interpolate("$$A $${A}", env).text == "$A ${A}"
    assert interpolate("${B:-${A}}", env).text == "a"
    res = interpolate("${B:?B is required} ${E?x} ${E:?empty}", env)
    assert res.missing == ["B: B is required", "E: empty"]
    assert required("${X:?x} ${Y} ${Z?z} ${W:-1}") == {"X", "Z"}
    with pytest.raises(InterpolationError):
        interpolate("${A", env)
    with pytest.raises(InterpolationError):
        interpolate("${A:x}", env)


def test_env_file_parsing():
    env = parse_env("# c\nexport A=1\nB='lit $A'\nC=\"x ${A}\"\nD=v # note\nE=${A}2\n")
    assert env == {"A": "1", "B": "lit $A", "C": "x 1", "D": "v", "E": "12"}


def test_compose_problems_report_missing_required_variables():
    text = "services:\n  a:\n    image: x\n    environment:\n      P: ${P:?P is required}\n      Q: $$lit\n"
    assert compose_problems(text, {}) == ["required variable P: P is required is not set"]
    assert compose_problems(text, {"P": "v"}) == []


# -- values, placeholders, comments ------------------------------------------------

def test_whole_values_not_substrings():
    text = ("runs-on: ubuntu-latest\nPOSTGRES_USER: postgres\nimage: postgres:16\n"
            "POSTGRES_PASSWORD: postgres\nDATABASE_URL: postgres://postgres:postgres@db/app\n"
            "pytest -m test\n")
    lines = [text.count("\n", 0, o) + 1 for o in occurrences(text, "postgres")]
    assert lines == [4, 5]
    assert occurrences(text, "test") == []
    assert occurrences("x: Zq9-strong-value\ncmd --x=Zq9-strong-value\n", "Zq9-strong-value") == [3, 28]


@pytest.mark.parametrize("value", ["/run/secrets/db-password", "password", "pk-lf-1234567890", "local", "none", "not_needed", "changeme", "change-me", "example", "xxx",
                                   "<set POSTGRES_URL>", "your-api-key", "", "sk-xxxxxxxxxxxxxxxx"])
def test_placeholders(value):
    assert placeholder(value)


@pytest.mark.parametrize("value", ["hunter2", "postgres", "s3cr3t-pw", "mem0pass"])
def test_real_values(value):
    assert placeholder(value) is None


def test_dummy_comments():
    text = ("env:\n  # CI-safe dummy secrets\n  API_KEY: abc123\n  OTHER: def456\n"
            "real:\n  TOKEN: zzz  # staging\n")
    assert dummy_note(text, 2) and dummy_note(text, 3)
    assert dummy_note(text, 5) is None


# -- compose -------------------------------------------------------------------------

STACK = """\
x-ollama-config: &ollama
  OLLAMA_API_KEY: local
x-db: &db
  MIGRATION_DSN: postgresql://app:Pg-Secret-77@db:5432/app
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_USER: postgres
      POSTGRES_PASSWORD: Pg-Secret-77
  api:
    build: .
    environment:
      OLLAMA_API_KEY: local
      OPENAI_API_KEY: not_needed
      POSTGRES_PWD: Pg-Secret-77
      DATABASE_URL: postgresql://app:Pg-Secret-77@db:5432/app
  migrate:
    build: .
    command: ["migrate", "--password", "Pg-Secret-77"]
"""


def test_placeholders_stay_and_one_value_moves_everywhere(tmp_path):
    write_tree(tmp_path, {"compose.yaml": STACK})
    before = compose_problems(STACK, {})
    assert before == []
    result = fix(tmp_path, only=["compose-secrets"])
    out = (tmp_path / "compose.yaml").read_text("utf-8")
    assert "Pg-Secret-77" not in out
    assert out.count("OLLAMA_API_KEY: local") == 2 and "OPENAI_API_KEY: not_needed" in out
    assert "MIGRATION_DSN: \"postgresql://app:${POSTGRES_PASSWORD}@db:5432/app\"" in out
    assert "POSTGRES_PWD: \"${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}\"" in out
    assert '"--password", "${POSTGRES_PASSWORD}"' in out
    assert (tmp_path / ".env.example").read_text("utf-8") == "POSTGRES_PASSWORD=change-me\n"
    assert _loads(tmp_path, "compose.yaml", ".env.example") == []
    reasons = [s.reason for s in _skips(result)]
    assert any("OLLAMA_API_KEY left as it is: placeholder value (local)" in r for r in reasons)
    assert any("OPENAI_API_KEY left as it is: placeholder value (not_needed)" in r for r in reasons)
    assert not fix(tmp_path, only=["compose-secrets"]).changed


def test_value_used_in_config_and_script_does_not_move(tmp_path):
    compose = ("services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: hunter2\n"
               "      POSTGRES_USER: user\n")
    files = {"compose.yaml": compose,
             "config/app.json": '{"db": {"dsn": "postgres://user:hunter2@db/app"}}\n',
             "scripts/e2e.sh": "#!/bin/sh\nexport PGPASSWORD=hunter2\ndocker compose up -d\n"}
    write_tree(tmp_path, files)
    result = fix(tmp_path, only=["compose-secrets"])
    assert (tmp_path / "compose.yaml").read_text("utf-8") == compose
    assert not (tmp_path / ".env.example").exists()
    [f] = _findings(result)
    assert f.status == "reported" and "config/app.json:1" in f.message and "scripts/e2e.sh:2" in f.message


def test_script_running_compose_without_env_file_blocks_the_move(tmp_path):
    compose = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: s3cr3t-pw\n"
    write_tree(tmp_path, {"compose.yaml": compose,
                          "scripts/e2e.sh": "#!/bin/sh\ndocker compose -f compose.yaml up -d\n"})
    [f] = _findings(fix(tmp_path, only=["compose-secrets"]))
    assert f.status == "reported" and "scripts/e2e.sh" in f.message and "without an env file" in f.message
    assert (tmp_path / "compose.yaml").read_text("utf-8") == compose


def test_root_template_with_the_same_dsn_keeps_the_value(tmp_path):
    compose = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: postgres\n"
    write_tree(tmp_path, {
        "README.md": "Run `cp .env.example .env && make up`.\n",
        ".env.example": "DATABASE_URL=postgresql://postgres:postgres@localhost:5432/app\n",
        "backend/compose.yaml": compose,
    })
    [f] = _findings(fix(tmp_path, only=["compose-secrets"]))
    assert f.status == "reported" and ".env.example:1" in f.message
    assert not (tmp_path / "backend/.env.example").exists()
    assert (tmp_path / "backend/compose.yaml").read_text("utf-8") == compose


def test_readme_names_the_template(tmp_path):
    write_tree(tmp_path, {
        "README.md": "```sh\ncp env.sample .env\ndocker compose up\n```\n",
        "env.sample": "# settings\nLOG_LEVEL=info\n",
        "compose.yaml": "services:\n  app:\n    image: x/app\n    environment:\n      API_TOKEN: tok-98765\n",
    })
    fix(tmp_path, only=["compose-secrets"])
    assert (tmp_path / "env.sample").read_text("utf-8") == "# settings\nLOG_LEVEL=info\nAPI_TOKEN=change-me\n"
    assert not (tmp_path / ".env.example").exists()
    assert _loads(tmp_path, "compose.yaml", "env.sample") == []


def test_ignored_template_is_not_written(tmp_path):
    compose = "services:\n  app:\n    image: x/app\n    environment:\n      API_TOKEN: tok-98765\n"
    write_tree(tmp_path, {".gitignore": ".env.*\n", "compose.yaml": compose})
    result = fix(tmp_path, only=["compose-secrets"])
    assert not (tmp_path / ".env.example").exists()
    assert (tmp_path / "compose.yaml").read_text("utf-8") == compose
    [f] = _findings(result)
    assert f.status == "reported" and "matches .gitignore" in f.message
    notes = [n for cs in result.changesets for n in cs.notes]
    assert any("API_TOKEN=change-me" in n and ".gitignore" in n for n in notes)


def test_apply_never_replaces_an_untracked_template(tmp_path):
    compose = "services:\n  app:\n    image: x/app\n    environment:\n      API_TOKEN: tok-98765\n"
    write_tree(tmp_path, {"compose.yaml": compose})
    init_repo(tmp_path)
    local = "".join(f"VAR_{i}=x\n" for i in range(19))
    (tmp_path / ".env.example").write_text(local)          # present, untracked
    from typer.testing import CliRunner

    from fixer.cli import app
    out = CliRunner().invoke(app, ["apply", str(tmp_path), "--only", "compose-secrets", "--offline"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / ".env.example").read_text() == local
    # nothing was committed: the template on disk would be replaced by a merge
    assert "fixer/remediation" not in git(tmp_path, "branch", "--list")
    # what apply read (HEAD) says why
    from git import Repo

    from fixer import config, runner
    settings = config.load(tmp_path)
    settings.only = ["compose-secrets"]
    result = runner.run(runner.head_source(Repo(tmp_path), ""), settings, root=tmp_path)
    [f] = _findings(result)
    assert f.status == "reported" and "exists on disk but not in git" in f.message


def test_a_kept_dotenv_is_the_template(tmp_path):
    # compose reads a .env the repository keeps; an .env.example would not be read
    write_tree(tmp_path, {
        ".env": "MYSQL_VERSION=8\n",
        "docker-compose-mysql.yml": "services:\n  mysql:\n    image: mysql:${MYSQL_VERSION}\n    environment:\n"
                                    "      - MYSQL_ROOT_PASSWORD=root\n  app:\n    image: x\n    environment:\n"
                                    "      - MYSQL_PWD=root\n      - MYSQL_USER=root\n"})
    fix(tmp_path, only=["compose-secrets"])
    assert (tmp_path / ".env").read_text() == "MYSQL_VERSION=8\nMYSQL_ROOT_PASSWORD=change-me\n"
    assert not (tmp_path / ".env.example").exists()
    out = (tmp_path / "docker-compose-mysql.yml").read_text()
    assert "MYSQL_PWD=${MYSQL_ROOT_PASSWORD:?" in out and "MYSQL_USER=root" in out
    assert _loads(tmp_path, "docker-compose-mysql.yml", ".env") == []


def test_docs_showing_the_value_do_not_block(tmp_path):
    write_tree(tmp_path, {
        "compose.yaml": "services:\n  db:\n    image: mysql\n    environment:\n      MYSQL_ROOT_PASSWORD: somewordpress\n",
        "other/README.md": "Set `MYSQL_ROOT_PASSWORD=somewordpress`.\n"})
    result = fix(tmp_path, only=["compose-secrets"])
    assert "somewordpress" not in (tmp_path / "compose.yaml").read_text()
    notes = [n for cs in result.changesets for n in cs.notes]
    assert any("other/README.md:1" in n and "documentation" in n for n in notes)


def test_equal_values_share_one_variable_across_compose_files(tmp_path):
    write_tree(tmp_path, {
        "compose.yaml": "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: Zx9-literal\n",
        "compose.prod.yaml": "services:\n  db:\n    image: postgres\n    environment:\n      DB_PASS: Zx9-literal\n",
    })
    fix(tmp_path, only=["compose-secrets"])
    # the first file fixed (compose.prod.yaml) names it; the other one reuses the name
    assert (tmp_path / ".env.example").read_text("utf-8") == "DB_PASS=change-me\n"
    assert "POSTGRES_PASSWORD: \"${DB_PASS:?" in (tmp_path / "compose.yaml").read_text("utf-8")
    for name in ("compose.yaml", "compose.prod.yaml"):
        assert _loads(tmp_path, name, ".env.example") == []


# -- Kubernetes --------------------------------------------------------------------

DEPLOY = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n"
          "    matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n"
          "      containers:\n        - name: api\n          image: example/api:1.0\n          env:\n"
          "            - name: POSTGRES_PASSWORD\n              value: mem0pass\n"
          "            - name: OPENAI_API_KEY\n              value: \"<set OPENAI_API_KEY>\"\n")


def test_k8s_folder_applied_as_a_whole_gets_no_placeholder_secret(tmp_path):
    write_tree(tmp_path, {"k8s/api.yaml": DEPLOY,
                          "README.md": "Deploy with\n\n    kubectl apply -f k8s/\n"})
    result = fix(tmp_path, only=["k8s-secret-ref"])
    assert not (tmp_path / "k8s/api-secret.yaml").exists()
    assert (tmp_path / "k8s/api.yaml").read_text() == DEPLOY
    [f] = _findings(result)
    assert f.status == "reported" and "README.md:3" in f.message and "applied as a whole" in f.message
    reasons = [s.reason for s in _skips(result)]
    assert any("OPENAI_API_KEY left as it is: placeholder" in r for r in reasons)


def test_k8s_kustomization_listing_the_folder(tmp_path):
    write_tree(tmp_path, {"deploy/k8s/api.yaml": DEPLOY,
                          "deploy/kustomization.yaml": "resources:\n  - k8s\n"})
    [f] = _findings(fix(tmp_path, only=["k8s-secret-ref"]))
    assert f.status == "reported" and "deploy/kustomization.yaml:2: lists k8s" in f.message


def test_k8s_value_in_a_sibling_manifest_blocks_the_move(tmp_path):
    sts = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\ndata:\n  password: mem0pass\n")
    write_tree(tmp_path, {"k8s/api.yaml": DEPLOY, "k8s/db.yaml": sts})
    [f] = _findings(fix(tmp_path, only=["k8s-secret-ref"]))
    assert f.status == "reported" and "k8s/db.yaml:6" in f.message
    assert (tmp_path / "k8s/api.yaml").read_text() == DEPLOY


def test_k8s_single_file_apply_still_gets_the_secret(tmp_path):
    write_tree(tmp_path, {"k8s/api.yaml": DEPLOY, "README.md": "kubectl apply -f k8s/api.yaml\n"})
    fix(tmp_path, only=["k8s-secret-ref"])
    assert "<set POSTGRES_PASSWORD>" in (tmp_path / "k8s/api-secret.yaml").read_text()
    out = (tmp_path / "k8s/api.yaml").read_text()
    assert "mem0pass" not in out and 'value: "<set OPENAI_API_KEY>"' in out


def test_a_value_blocked_in_one_compose_file_moves_in_none(tmp_path):
    # docker-compose.yml mounts ./result, whose code holds the password; the images variant
    # runs the same code from an image: neither moves
    db = "  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: postgres\n"
    files = {"docker-compose.yml": "services:\n  result:\n    build: ./result\n    volumes:\n      - ./result:/app\n" + db,
             "docker-compose.images.yml": "services:\n  result:\n    image: x/result\n" + db,
             "result/server.js": "const c = 'postgres://postgres:postgres@db/postgres';\n"}
    write_tree(tmp_path, files)
    result = fix(tmp_path, only=["compose-secrets"])
    assert not result.changed
    assert {f.path for f in _findings(result)} == {"docker-compose.yml", "docker-compose.images.yml"}
    assert all("result/server.js:1" in f.message for f in _findings(result))


def test_gitignore_rules_as_git_reads_them(tmp_path):
    from fixer.envtemplate import ignored

    class Ctx:     # what ignored() reads: the root and, outside git, the .gitignore files
        def __init__(self, root):
            self.root = root

        def read(self, path):
            p = self.root / path
            return p.read_text() if p.exists() else None

    write_tree(tmp_path, {".gitignore": ".env.*\n!.env.example\n", "sub/.gitignore": "*.sample\n"})
    for root_is_git in (False, True):
        if root_is_git:
            init_repo(tmp_path)
        ctx = Ctx(tmp_path)
        assert ignored(ctx, ".env.local") and ignored(ctx, "a/.env.prod")
        assert not ignored(ctx, ".env.example") and not ignored(ctx, "a/.env.example")
        assert ignored(ctx, "sub/env.sample") and not ignored(ctx, "env.sample")


def test_a_suppressed_place_keeps_the_value_everywhere(tmp_path):
    compose = ("services:\n  db:  # fixer: ignore[compose-secrets]\n    image: postgres:16\n    environment:\n"
               "      POSTGRES_PASSWORD: s3cr3t-pw\n  api:\n    build: .\n    environment:\n"
               "      DATABASE_URL: postgres://app:s3cr3t-pw@db/app\n")
    write_tree(tmp_path, {"compose.yaml": compose})
    result = fix(tmp_path, only=["compose-secrets"])
    assert (tmp_path / "compose.yaml").read_text() == compose
    assert any("under fixer: ignore" in f.message for f in _findings(result))


def test_readme_copy_then_make_up_keeps_working(tmp_path):
    # users run `cp .env.example .env && make up`: the Makefile finds .env; CI does not
    compose = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: s3cr3t-pw\n"
    files = {"README.md": "cp .env.example .env && make up\n", ".env.example": "LOG=info\n",
             "Makefile": "up:\n\tdocker compose up -d\n", "compose.yaml": compose}
    write_tree(tmp_path, files)
    fix(tmp_path, only=["compose-secrets"])
    assert (tmp_path / ".env.example").read_text() == "LOG=info\nPOSTGRES_PASSWORD=change-me\n"
    assert _loads(tmp_path, "compose.yaml", ".env.example") == []
    # a workflow calling a script that runs compose without .env would break: nothing moves
    write_tree(tmp_path, {**files, ".github/workflows/e2e.yml": "on: push\njobs:\n  e2e:\n    runs-on: ubuntu-latest\n"
                          "    steps:\n      - run: ./scripts/e2e.sh\n",
                          "scripts/e2e.sh": "#!/bin/sh\ndocker compose -f compose.yaml up -d\n"})
    [f] = _findings(fix(tmp_path, only=["compose-secrets"]))
    assert f.status == "reported" and "scripts/e2e.sh" in f.message
    assert (tmp_path / "compose.yaml").read_text() == compose


def test_interpolation_command(tmp_path):
    import subprocess
    import sys
    write_tree(tmp_path, {"c.yaml": "services:\n  a:\n    image: x\n    environment:\n      P: ${P:?P is required}\n",
                          ".env.example": "P=change-me\n"})
    run = [sys.executable, "-m", "fixer.interpolate", str(tmp_path / "c.yaml")]
    bad = subprocess.run(run, capture_output=True, text=True)
    assert bad.returncode == 1 and "required variable P" in bad.stdout
    ok = subprocess.run(run + [str(tmp_path / ".env.example")], capture_output=True, text=True)
    assert ok.returncode == 0 and "loads with" in ok.stdout
