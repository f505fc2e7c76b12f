"""Each original Dockerfile and its merged target build the same image (real buildah builds)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests import consolidate_patterns
from tests.consolidate_fixture import files
from tests.helpers import fix, write_tree

pytestmark = [pytest.mark.build,
              pytest.mark.skipif(shutil.which("buildah") is None or shutil.which("busybox") is None,
                                 reason="needs buildah and busybox-static (apt-get install buildah busybox-static)")]

CONFIG = ("Env", "Cmd", "Entrypoint", "User", "WorkingDir", "ExposedPorts", "Labels", "Healthcheck")


class Buildah:
    def __init__(self, tmp: Path):
        self.args = ["buildah", "--root", str(tmp / "root"), "--runroot", str(tmp / "run"),
                     "--storage-driver", "vfs"]

    def __call__(self, *args: str) -> str:
        r = subprocess.run(self.args + list(args), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stdout

    def bud(self, tag: str, dockerfile: Path, context: Path, target: str | None = None) -> dict:
        extra = ["--target", target] if target else []
        self("bud", "--isolation", "chroot", "--timestamp", "0", "--layers", "--format", "docker",
             "--pull=never", "-f", str(dockerfile), *extra, "-t", tag, str(context))
        info = json.loads(self("inspect", "--type", "image", tag))
        cfg = info["Docker"]["config"]
        return {"diff_ids": info["Docker"]["rootfs"]["diff_ids"], **{k: cfg.get(k) for k in CONFIG}}


    def content(self, tag: str, tmp: Path) -> dict[str, tuple]:
        """path -> (type, mode, uid, gid, sha256 or link) of the image's filesystem (layers in order)."""
        out = tmp / re.sub(r"\W", "_", tag)
        shutil.rmtree(out, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        auth = tmp / "auth.json"
        auth.write_text("{}")
        self("push", "--authfile", str(auth), "--format", "docker", tag, f"dir:{out}")
        manifest = json.loads((out / "manifest.json").read_text())
        files: dict[str, tuple] = {}
        for layer in manifest["layers"]:
            blob = out / layer["digest"].split(":", 1)[1]
            with tarfile.open(blob) as tar:
                for ti in tar:
                    name = ti.name.lstrip("./")
                    data = tar.extractfile(ti).read() if ti.isfile() else b""
                    files[name] = (ti.type, ti.mode, ti.uid, ti.gid,
                                   hashlib.sha256(data).hexdigest() if ti.isfile() else ti.linkname)
        return files


RECIPE = re.compile(r"(^|/)(Dockerfile[^/]*|[^/]*\.Dockerfile|\.dockerignore)$")


def without_recipes(files: dict[str, tuple]) -> dict[str, tuple]:
    return {p: v for p, v in files.items() if not RECIPE.search(p)}


def zero_mtimes(root: Path) -> None:
    subprocess.run(["find", str(root), "-exec", "touch", "-h", "-d", "@0", "{}", "+"], check=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("consolidate-build")
    b = Buildah(tmp)
    bases = tmp / "bases"
    bases.mkdir()
    shutil.copy(shutil.which("busybox"), bases / "busybox")
    (bases / "two.txt").write_text("two\n")
    (bases / "one").write_text('FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
    (bases / "two").write_text((bases / "one").read_text() + "COPY two.txt /two.txt\n")
    zero_mtimes(bases)
    b("bud", "--isolation", "chroot", "--timestamp", "0", "--layers", "-f", str(bases / "one"), "-t", "localhost/base", str(bases))
    b("bud", "--isolation", "chroot", "--timestamp", "0", "--layers", "-f", str(bases / "two"), "-t", "localhost/base2", str(bases))
    repo = tmp / "repo"
    write_tree(repo, files())
    zero_mtimes(repo)
    before = {}
    originals = {p: t for p, t in files().items() if Path(p).name.startswith("Dockerfile")}
    for i, p in enumerate(sorted(originals)):
        before[p] = b.bud(f"localhost/orig{i}", repo / p, (repo / p).parent)
    result = fix(repo, only=["dockerfile-consolidate"], offline=True)
    zero_mtimes(repo)
    return b, repo, before, result


def targets(repo: Path) -> dict[str, tuple[str, str]]:
    """original path -> (merged file, target), read from the merged files' header."""
    out = {}
    for f in sorted(repo.rglob("*Dockerfile*")):
        rel = f.relative_to(repo).as_posix()
        for m in re.finditer(r"^#   (\S+): (\S+)$", f.read_text(), re.M):
            out[m.group(2)] = (rel, m.group(1))
    return out


def test_every_target_builds_the_original_image(built):
    b, repo, before, _ = built
    merged = targets(repo)
    assert len(merged) >= 21, sorted(merged)
    for i, (orig, (newfile, target)) in enumerate(sorted(merged.items())):
        assert not (repo / orig).exists(), f"{orig} should be gone"
        got = b.bud(f"localhost/new{i}", repo / newfile, repo / os.path.dirname(orig), target)
        assert got == before[orig], f"{orig} -> {newfile} --target {target} differs"


def test_clusters_that_must_not_merge(built):
    _, repo, _, result = built
    merged = targets(repo)
    assert "legacy/one/Dockerfile" not in merged and (repo / "legacy/one/Dockerfile").exists()
    for p in ("selfcopy/a/Dockerfile", "selfcopy/b/Dockerfile"):
        assert p not in merged and (repo / p).exists()
    skips = {s.path: s.reason for cs in result.changesets for s in cs.skips}
    assert "copies selfcopy/a/Dockerfile into its image" in skips["selfcopy/a/Dockerfile"]
    # the multi-stage originals and the ARG-templated bases merged among themselves
    assert merged["tools/compiler/Dockerfile"] == ("tools/Dockerfile", "compiler")
    assert merged["argbase/p/Dockerfile"] == ("argbase/Dockerfile", "p")


def test_references_point_at_the_targets(built):
    _, repo, _, _ = built
    wf = (repo / ".github/workflows/images.yml").read_text()
    assert "-f mcp-servers/Dockerfile --target ${{ matrix.server }} mcp-servers/${{ matrix.server }}" in wf
    assert "file: mcp-servers/Dockerfile\n          push: false\n          target: docs-uv" in wf
    compose = (repo / "compose.yaml").read_text()
    assert "build: {context: ./mcp-servers/ai-memory, dockerfile: ../Dockerfile, target: ai-memory}" in compose
    assert "dockerfile: ../Dockerfile" in compose and "target: maps" in compose
    deploy = (repo / "deploy/deploy.py").read_text()
    assert '"-f", "mcp-servers/Dockerfile", "--target", f"{service}-production",' in deploy
    mk = (repo / "Makefile").read_text()
    assert "docker build -f tools/Dockerfile --target compiler tools/compiler" in mk
    assert "docker build -f tools/Dockerfile --target linker-build tools/linker" in mk


# -- every family and reference pattern (tests/consolidate_patterns.py) ----------

@pytest.fixture(scope="module")
def patterns(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("consolidate-patterns")
    b = Buildah(tmp)
    bases = tmp / "bases"
    bases.mkdir()
    shutil.copy(shutil.which("busybox"), bases / "busybox")
    (bases / "one").write_text('FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
    zero_mtimes(bases)
    b("bud", "--isolation", "chroot", "--timestamp", "0", "--layers", "-f", str(bases / "one"), "-t", "localhost/base", str(bases))
    repo = tmp / "repo"
    tree = consolidate_patterns.files()
    write_tree(repo, tree)
    zero_mtimes(repo)
    before = {}
    for i, p in enumerate(sorted(p for p in tree if Path(p).name.startswith("Dockerfile"))):
        if p.startswith("backups/"):
            continue
        tag = f"localhost/porig{i}"
        cfg = b.bud(tag, repo / p, (repo / p).parent)
        before[p] = (cfg, b.content(tag, tmp / "content"))
    result = fix(repo, only=["dockerfile-consolidate"], offline=True)
    zero_mtimes(repo)
    return b, tmp, repo, before, result


def test_every_pattern_target_builds_the_original_image_but_its_recipes(patterns):
    b, tmp, repo, before, _ = patterns
    merged = targets(repo)
    # per-service copies, the folders of variants, the function's and the loop's files,
    # the workers the unresolvable reference does not name
    expect = {f"services/{s}/Dockerfile" for s in consolidate_patterns.SERVICES}
    expect |= {f"apps/{a}/Dockerfile{v}" for a in consolidate_patterns.APPS for v in ("", ".uv", ".production")}
    expect |= {f"jobs/{j}/Dockerfile" for j in consolidate_patterns.JOBS}
    expect |= {f"tools/{t}/Dockerfile" for t in consolidate_patterns.LOOPED}
    expect |= {"workers/b/Dockerfile", "workers/c/Dockerfile"}
    assert set(merged) == expect
    for i, (orig, (newfile, target)) in enumerate(sorted(merged.items())):
        assert not (repo / orig).exists(), f"{orig} should be gone"
        tag = f"localhost/pnew{i}"
        got = b.bud(tag, repo / newfile, repo / os.path.dirname(orig), target)
        cfg, files = before[orig]
        config = {k: v for k, v in cfg.items() if k != "diff_ids"}
        assert {k: v for k, v in got.items() if k != "diff_ids"} == config, orig
        after = b.content(tag, tmp / "content")
        # the only difference: the build recipes COPY . took from the service folder
        assert without_recipes(after) == without_recipes(files), orig
        assert set(files) - set(after), f"{orig}: the original image held its recipes"
        assert all(RECIPE.search(p) for p in set(files) ^ set(after)), orig


def test_patterns_left_alone_and_why(patterns):
    _, _, repo, _, result = patterns
    skips = {s.path: s.reason for cs in result.changesets for s in cs.skips}
    notes = [n for cs in result.changesets for n in cs.notes]
    # the unresolvable reference blocks its own file only
    assert (repo / "workers/a/Dockerfile").exists()
    assert "scripts/adhoc.sh:3" in skips["workers/a/Dockerfile"]
    # independent sample projects: never one family
    for p in ("shop", "blog"):
        assert (repo / f"samples/{p}/backend/Dockerfile").exists()
        assert "belongs to another project" in skips[f"samples/{p}/backend/Dockerfile"]
    # the stale script in a backup folder blocks nothing, is listed, and is left as written
    assert any("backups/scripts_cleanup_20250705_101500/build.sh:3" in n for n in notes)
    assert (repo / "backups/scripts_cleanup_20250705_101500/build.sh").read_text() == consolidate_patterns.STALE_SH
    # every merged file says which images lose nothing but their recipes
    msgs = [f.message for cs in result.changesets for f in cs.findings]
    assert all("build recipes are not image content" in m for m in msgs)


def test_pattern_references_rewritten_where_written(patterns):
    _, _, repo, _, _ = patterns
    build = (repo / "scripts/build.sh").read_text()
    assert 'docker build -t "example/$name" -f "$dockerfile" ${4:+--target "${4}"} "$context"' in build
    assert 'build_image ingest "jobs/Dockerfile" jobs/ingest ingest' in build
    loop = (repo / "scripts/loop.sh").read_text()
    assert 'docker build -f "tools/Dockerfile" --target "${t}" -t "tool-$t" "tools/$t"' in loop
    assert (repo / "scripts/adhoc.sh").read_text() == consolidate_patterns.ADHOC_SH
