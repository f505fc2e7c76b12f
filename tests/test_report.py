"""`fixer report`: inventory, near-duplicate clusters, findings, Markdown and a self-contained HTML page."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from typer.testing import CliRunner

from fixer.audit import clusters
from fixer.cli import app
from tests.helpers import write_tree

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "audit-repo"

DOCKER = "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n" \
         "COPY . .\nUSER app\nCMD [\"python\", \"server.py\"]\n"


def _repo(tmp_path: Path) -> Path:
    write_tree(tmp_path, {
        "svc/a/Dockerfile": DOCKER,
        "svc/b/Dockerfile": DOCKER.replace("server.py", "main.py"),
        "svc/c/Dockerfile": "# another\n" + DOCKER.replace("3.12", "3.12"),
        "tools/Dockerfile": "FROM golang:1.22\nRUN go build ./...\nCMD [\"/bin/tool\"]\n",
        "compose.yaml": "services:\n  web:\n    image: nginx:1.27\n",
        "k8s/app.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        "chart/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n",
        "deploy.sh": "#!/bin/sh\nkubectl apply -f k8s/\n",
        "scripts/release.py": "print('release')\n",
        "app/models.py": "x = 1\n",
        ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: x\n    env:\n"
                                    "      API_TOKEN: tok-secret-123\n    steps:\n      - run: make <test>\n",
    })
    return tmp_path


def _invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_markdown_report(tmp_path):
    root = _repo(tmp_path)
    res = _invoke("report", str(root), "--format", "markdown")
    assert res.exit_code == 0, res.output
    md = res.stdout
    rows = dict(re.findall(r"^\| (Dockerfiles|Compose files|Kubernetes manifests|Helm charts|Workflows"
                           r"|Deploy scripts) \| (\d+) \|", md.split("### Near")[0], re.M))
    assert rows == {"Dockerfiles": "4", "Compose files": "1", "Kubernetes manifests": "1", "Helm charts": "1",
                    "Workflows": "1", "Deploy scripts": "2"}
    assert "`svc/a/Dockerfile`, `svc/b/Dockerfile`, `svc/c/Dockerfile`" in md
    assert "tools/Dockerfile" not in md.split("### Near-duplicate files")[1].split("###")[0]
    assert re.search(r"\| `gha-secrets` \| high \| 1 \| 1 \|", md)
    assert re.search(r"\| `compose-no-new-privileges` \| medium \| 1 \| 1 \| 0 \| 0 \| 1 file\(s\), \+1 −0 \|", md)
    assert re.search(r"^\| Workflows \| 0 \| 1 \| 1 \| 0 \|$", md, re.M)
    assert "tok-secret-123" not in md


def test_html_report_is_self_contained(tmp_path):
    root = _repo(tmp_path)
    out = tmp_path / "report.html"
    res = _invoke("report", str(root), "--format", "html", "--output", str(out))
    assert res.exit_code == 0, res.output
    page = out.read_text("utf-8")
    assert "tok-secret-123" not in page
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "</svg>" in page

    class Check(HTMLParser):
        external: list = []
        tags: list = []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            for k, v in attrs:
                if k in ("src", "href") or (k == "style" and "url(" in (v or "")):
                    self.external.append((tag, k, v))
    c = Check()
    c.feed(page)
    assert not c.external, c.external
    assert "script" not in c.tags and "link" not in c.tags and "img" not in c.tags
    assert c.tags.count("rect") >= 2
    # text from the repository is escaped
    assert "make <test>" not in page
    # compose: no-new-privileges, cap-drop, read-only (medium); resource-limits, restart (low)
    assert "Workflows: 1 high" in page and "Compose files: 3 medium" in page and "Compose files: 2 low" in page


def test_rich_report_and_example(tmp_path):
    res = _invoke("report", str(EXAMPLE))
    assert res.exit_code == 0, res.output
    assert "Inventory" in res.stdout and "Findings by codemod" in res.stdout
    assert "Near-duplicate files" in res.stdout


def test_clusters_group_only_near_duplicates():
    inv = {"Dockerfiles": ["a", "b", "c"], "Compose files": []}
    texts = {"a": DOCKER, "b": DOCKER + "EXPOSE 80\n", "c": "FROM x\nRUN y\nRUN z\nCMD w\n"}
    (cl,) = clusters(texts, inv)
    # the clustering dockerfile-consolidate uses: instruction sequences, not line sets
    assert cl.paths == ["a", "b"] and cl.similarity == round(14 / 15, 2)
    assert clusters({"a": DOCKER}, {"Dockerfiles": ["a"]}) == []


def test_bad_format(tmp_path):
    assert _invoke("report", str(tmp_path), "--format", "pdf").exit_code == 2
