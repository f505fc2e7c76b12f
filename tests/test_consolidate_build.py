"""Each original Dockerfile and its merged target build the same image (real buildah builds)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

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
