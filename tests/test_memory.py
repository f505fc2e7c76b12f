"""What keeps memory flat on big repositories: bounded parser round trips, packed
consolidation summaries, the repository model dropped after its last reader."""
from __future__ import annotations

from fixer import buildkit, config, runner
from fixer.consolidate.members import Member
from fixer.dockerdoc import Dockerfile
from tests.helpers import write_tree


def test_parser_round_trips_are_bounded_by_text(monkeypatch):
    sent = []
    raw = buildkit._raw
    monkeypatch.setattr(buildkit, "_raw", lambda chunk: (sent.append(len(chunk)), raw(chunk))[1])
    small = [f"FROM small{i}\n" for i in range(100)]
    big = [f"FROM big{i}\n" + "RUN true\n" * 25_000 for i in range(2)]    # 225,000 characters each
    buildkit.prefetch(small + big)
    assert sent == [64, 36, 1, 1]       # 64 texts at most, and a long text goes alone
    assert buildkit.parse(big[1])[0].value == ("big1",)


def test_consolidation_summaries_are_packed():
    docs = {p: Dockerfile(p, t) for p, t in {
        "a/Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY a/ /app/\nCMD [\"a\"]\n",
        "b/Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY b/ /app/\nCMD [\"b\"]\n"}.items()}
    a, b = (Member(p, docs.get) for p in docs)
    assert not hasattr(a, "__dict__")                  # slots: no dictionary per member
    assert a.bucket is b.bucket                        # one shared copy of an equal bucket
    exact, words = a.shape
    assert words == ("FROM", "WORKDIR", "COPY", "CMD") and len(exact) == 4
    assert exact[:2] == b.shape[0][:2] and exact[2] != b.shape[0][2] and isinstance(a._exact, bytes)


def test_model_is_dropped_after_its_last_reader(tmp_path, monkeypatch):
    import codemods.dockerfile_consolidate as dc

    seen = []
    orig = dc.DockerfileConsolidate.run

    def spy(self, ctx):
        seen.append("model" in ctx.shared)
        return orig(self, ctx)
    monkeypatch.setattr(dc.DockerfileConsolidate, "run", spy)
    write_tree(tmp_path, {"compose.yaml": "services:\n  web:\n    build: .\n", "Dockerfile": "FROM nginx:1.27\n"})
    settings = config.load(tmp_path, offline=True, only=["compose-restart", "dockerfile-consolidate"])
    result = runner.plan(tmp_path, settings)
    assert seen == [False]                                      # built for compose-restart, then dropped
    assert any(cs.codemod.id == "compose-restart" and cs.findings for cs in result.changesets)
