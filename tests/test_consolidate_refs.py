"""Consolidation: families, references followed like a reader, what blocks what (no builds)."""
from __future__ import annotations

from fixer.consolidate import shvars
from tests.helpers import fix, write_tree

SVC = ("# {n}\nFROM python:3.12-slim\nWORKDIR /app\nRUN pip install uv\nCOPY . /app/\n"
       "ENV SERVICE={n}\nEXPOSE {p}\nCMD [\"python\", \"-m\", \"{n}\"]\n")


def tree(names=("a", "b", "c"), folder="svc") -> dict[str, str]:
    return {f"{folder}/{n}/Dockerfile": SVC.format(n=n, p=8000 + i) for i, n in enumerate(names)}


def run(tmp_path, files):
    write_tree(tmp_path, files)
    res = fix(tmp_path, only=["dockerfile-consolidate"], offline=True)
    skips = {s.path: s.reason for cs in res.changesets for s in cs.skips}
    notes = [n for cs in res.changesets for n in cs.notes]
    return res, skips, notes


def test_shell_values_followed_like_a_reader():
    text = ('#!/bin/bash\nHERE="$(cd "$(dirname "$0")" && pwd)"\nDF=svc/a/Dockerfile\n'
            'b() {\n  local f="$2"\n  docker build -f "$f" "$3"\n}\nb x svc/b/Dockerfile svc/b\n'
            'b y svc/c/Dockerfile svc/c\nfor s in a b; do docker build -f "svc/$s/Dockerfile" .; done\n'
            'docker build -f $DF "$HERE/../svc/a"\ndocker build -f "$UNSET" .\n')
    s = shvars.read(text, "ci/build.sh")
    at = text.index("docker build -f \"$f\"")
    assert shvars.values(s, '"$f"', at) == ["svc/b/Dockerfile", "svc/c/Dockerfile"]
    assert shvars.origin(s, '"$f"', at).kind == "call"
    at = text.index("docker build -f \"svc/$s")
    assert shvars.values(s, '"svc/$s/Dockerfile"', at) == ["svc/a/Dockerfile", "svc/b/Dockerfile"]
    assert shvars.origin(s, '"svc/$s/Dockerfile"', at).kind == "loop"
    at = text.index("docker build -f $DF")
    assert shvars.values(s, "$DF", at) == ["svc/a/Dockerfile"]
    assert shvars.origin(s, "$DF", at).kind == "assign"
    assert shvars.values(s, '"$HERE/../svc/a"', at) == [shvars.REPO + "ci/../svc/a"]
    assert shvars.values(s, '"$UNSET"', text.index("$UNSET")) is None


def test_variable_assigned_once_is_rewritten_where_written(tmp_path):
    files = tree()
    files["build.sh"] = "DF=svc/a/Dockerfile\necho $DF\ndocker build -f $DF svc/a\n"
    run(tmp_path, files)
    assert (tmp_path / "build.sh").read_text() == ("DF=svc/Dockerfile\necho $DF\n"
                                                   "docker build -f $DF --target a svc/a\n")


def test_python_variable_assigned_once(tmp_path):
    files = tree()
    files["deploy/deploy.py"] = ('import subprocess\n\n\ndef build(name):\n'
                                 '    df = f"svc/{name}/Dockerfile"\n'
                                 '    subprocess.run(["docker", "build", "-f", df, f"svc/{name}"], check=True)\n'
                                 'DF = "svc/a/Dockerfile"\n'
                                 'subprocess.run(["docker", "build", "-f", DF, "svc/a"], check=True)\n')
    run(tmp_path, files)
    got = (tmp_path / "deploy/deploy.py").read_text()
    assert '    df = "svc/Dockerfile"\n' in got
    assert '["docker", "build", "-f", df, "--target", f"{name}", f"svc/{name}"]' in got
    assert 'DF = "svc/Dockerfile"\n' in got and '"-f", DF, "--target", "a", "svc/a"]' in got


def test_unresolvable_reference_blocks_only_what_it_could_name(tmp_path):
    files = tree() | tree(folder="web")
    files["build.sh"] = 'docker build -f "$1" svc/a\n'
    _, skips, _ = run(tmp_path, files)
    assert "build.sh:1" in skips["svc/a/Dockerfile"]
    assert not (tmp_path / "svc/b/Dockerfile").exists() and (tmp_path / "svc/Dockerfile").exists()
    assert (tmp_path / "web/Dockerfile").exists()


def test_inactive_tree_blocks_nothing_and_is_listed(tmp_path):
    files = tree()
    files["backup_20250705/build.sh"] = 'docker build -f "$dockerfile" .\ndocker build -f svc/a/Dockerfile svc/a\n'
    _, _, notes = run(tmp_path, files)
    assert (tmp_path / "svc/Dockerfile").exists()
    assert any(n.startswith("reference in an inactive tree") and "backup_20250705/build.sh:1" in n for n in notes)
    assert (tmp_path / "backup_20250705/build.sh").read_text().endswith("svc/a/Dockerfile svc/a\n")


def test_projects_with_their_own_compose_never_merge(tmp_path):
    files = {}
    for p in ("shop", "blog"):
        files[f"{p}/compose.yaml"] = "services:\n  api:\n    build: api\n"
        files[f"{p}/api/Dockerfile"] = SVC.format(n="api", p=80)
    _, skips, _ = run(tmp_path, files)
    assert (tmp_path / "shop/api/Dockerfile").exists() and (tmp_path / "blog/api/Dockerfile").exists()
    assert "belongs to another project" in skips["shop/api/Dockerfile"]


def test_generated_dockerfiles_stay(tmp_path):
    head = '#\n# NOTE: THIS DOCKERFILE IS GENERATED VIA "apply-templates.sh"\n#\n# PLEASE DO NOT EDIT IT DIRECTLY.\n#\n'
    files = {p: head + t for p, t in tree().items()}
    _, skips, _ = run(tmp_path, files)
    assert "generated" in skips["svc/a/Dockerfile"]
    assert not (tmp_path / "svc/Dockerfile").exists()


def test_templated_copies_recognised_and_differences_kept(tmp_path):
    """Copies that differ in the member's name, ENV values and ports: one family, every value kept."""
    files = tree(("alpha", "beta", "gamma"))
    run(tmp_path, files)
    merged = (tmp_path / "svc/Dockerfile").read_text()
    for i, n in enumerate(("alpha", "beta", "gamma")):
        assert f"# {n}\nFROM svc-base AS {n}\nENV SERVICE={n}\nEXPOSE {8000 + i}\n" in merged


def test_output_name_taken_by_another_file(tmp_path):
    files = tree()
    files["svc/Dockerfile"] = "FROM alpine:3.20\nRUN echo unrelated\n"
    run(tmp_path, files)
    assert (tmp_path / "svc/Dockerfile").read_text() == "FROM alpine:3.20\nRUN echo unrelated\n"
    merged = (tmp_path / "svc/Dockerfile.merged").read_text()
    assert "#   a: svc/a/Dockerfile\n" in merged


def test_computed_folder_may_be_dot(tmp_path):
    """`images/${{ inputs.image }}/${{ inputs.variant || '.' }}/` also builds images/x/Dockerfile."""
    files = tree(folder="images")
    files[".github/workflows/build.yml"] = (
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n"
        "          docker build -t x images/${{ inputs.image }}/${{ inputs.variant || '.' }}/\n")
    _, skips, _ = run(tmp_path, files)
    assert "is computed when the command runs" in skips["images/a/Dockerfile"]
    assert (tmp_path / "images/a/Dockerfile").exists() and not (tmp_path / "images/Dockerfile").exists()


def test_mount_of_named_files_does_not_hold_the_dockerfile(tmp_path):
    files = {p: t.replace("COPY . /app/\n", "RUN --mount=type=bind,source=uv.lock,target=uv.lock true\n")
             for p, t in tree().items()}
    files["svc/c/Dockerfile"] = files["svc/c/Dockerfile"].replace("source=uv.lock,", "")
    _, skips, _ = run(tmp_path, files)
    assert not (tmp_path / "svc/a/Dockerfile").exists() and (tmp_path / "svc/Dockerfile").exists()
    assert "mounts . of its build context svc/c" in skips["svc/c/Dockerfile"]


def test_comments_kept_in_their_targets(tmp_path):
    files = tree()
    files["svc/b/Dockerfile"] = files["svc/b/Dockerfile"].replace("RUN pip", "# b's own note\nRUN pip") + "# end of b\n"
    run(tmp_path, files)
    merged = (tmp_path / "svc/Dockerfile").read_text()
    # b's comment splits the shared prefix: each target keeps its own lines and comments
    assert "# b's own note\nRUN pip install uv\n" in merged and merged.count("RUN pip install uv\n") == 3
    assert merged.endswith('CMD ["python", "-m", "c"]\n') and '"b"]\n# end of b\n' in merged
