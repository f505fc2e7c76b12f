"""Shell commands are read with tree-sitter-bash: edits land on real commands, never in text."""
from __future__ import annotations

from pathlib import Path

import pytest

from fixer import shell
from fixer.consolidate import shell as build_cmds
from fixer.dockerdoc import Dockerfile
from tests.helpers import fix, write_tree

SHELL_IDS = ["dockerfile-pip-no-cache", "dockerfile-apk-no-cache", "dockerfile-apt-hygiene"]


def names(text: str) -> list[str]:
    return [" ".join(c.values) for c in shell.parse(text).commands]


def test_commands_after_operators_in_subshells_and_behind_wrappers():
    text = ("sudo -E -u root pip install a; b=1 env C=2 python -m pip install c | apk add d "
            "&& (cd / || apt-get install -y e) & x=$(pip3 install f)\n")
    assert names(text) == ["pip install a", "python -m pip install c", "apk add d", "cd /",
                           "apt-get install -y e", "pip3 install f"]


def test_no_commands_inside_strings_heredocs_or_comments():
    text = ('echo "step 1; pip install flask $(apk add x)" > /notes.txt\n'
            "echo 'apk add curl' # pip install y\n"
            "cat <<EOF > /f\npip install z\nEOF\n")
    assert names(text) == ['echo "step 1; pip install flask $(apk add x)"', "echo apk add curl", "cat"]


def test_offsets_are_characters_after_non_ascii_text():
    text = "echo 'é日本' && pip install ünï \"x y\""
    cmd = shell.parse(text, base=10).commands[1]
    assert [(text[w.start - 10:w.end - 10], w.value) for w in cmd.words] == [
        ("pip", "pip"), ("install", "install"), ("ünï", "ünï"), ('"x y"', "x y")]


def test_run_text_keeps_offsets_through_continuations_comments_and_flags():
    src = ("FROM alpine\nRUN --mount=type=tmpfs,target=/t apk add a \\  \r\n"
           "    # apk add comment\n\n    && pip install \"b\"\n")
    doc = Dockerfile("Dockerfile", src)
    ins = doc.instructions[1]
    assert len(shell.shell_text(doc, ins)) == ins.end - ins.start
    cmds = shell.dockerfile_run(doc, ins).commands
    assert [c.values for c in cmds] == [["apk", "add", "a"], ["pip", "install", "b"]]
    assert [src[w.start:w.end] for w in cmds[1].words] == ["pip", "install", '"b"']


def run(tmp_path: Path, text: str, ids=SHELL_IDS):
    write_tree(tmp_path, {"Dockerfile": text})
    result = fix(tmp_path, only=ids)
    out = (tmp_path / "Dockerfile").read_text()
    again = fix(tmp_path, only=ids)
    assert not again.changed, "a second run changes nothing"
    return out, [s.reason for cs in result.changesets for s in cs.skips]


@pytest.mark.parametrize("text", [
    'FROM python:3.12-alpine\nRUN echo "step 1; pip install flask" > /notes.txt\n',
    "FROM alpine:3.20\nRUN echo 'apk add curl' >> /README && echo \"$(apk add jq)\"\n",
    "FROM alpine:3.20\nRUN true # apk add curl && pip install flask\n",
    "FROM debian:bookworm-slim\nRUN printf 'apt-get install -y tini\\n' > /x \\\n    # && apt-get install -y tini\n",
])
def test_text_that_only_mentions_a_command_is_not_edited(tmp_path, text):
    out, _ = run(tmp_path, text)
    assert out == text


def test_real_commands_are_edited_after_operators_sudo_and_pipes(tmp_path):
    out, _ = run(tmp_path, "FROM python:3.12-alpine\n"
                 "RUN echo \"pip install a\" && sudo pip install flask; true | apk add curl \\\n"
                 "    # apk add old\n"
                 "    && (cd /srv && env X=1 python3 -m pip install -r req.txt)\n")
    assert out == ("FROM python:3.12-alpine\n"
                   "RUN echo \"pip install a\" && sudo pip install --no-cache-dir flask; "
                   "true | apk add --no-cache curl \\\n"
                   "    # apk add old\n"
                   "    && (cd /srv && env X=1 python3 -m pip install --no-cache-dir -r req.txt)\n")


def test_appended_command_goes_before_a_trailing_shell_comment(tmp_path):
    out, _ = run(tmp_path, "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y tini # tools\n")
    assert out == ("FROM debian:bookworm-slim\nRUN apt-get update && apt-get install --no-install-recommends -y tini"
                   " && rm -rf /var/lib/apt/lists/* # tools\n")


def test_backtick_escape_continuations(tmp_path):
    out, _ = run(tmp_path, "# escape=`\nFROM python:3.12\nRUN pip install a `\n    && pip install b\n")
    assert out == ("# escape=`\nFROM python:3.12\nRUN pip install --no-cache-dir a `\n"
                   "    && pip install --no-cache-dir b\n")


@pytest.mark.parametrize("text,reason", [
    ('FROM python:3.12\nRUN ["pip", "install", "flask"]\n', "pip install left as written: exec-form RUN"),
    ("FROM alpine:3.20\nRUN <<EOF\napk add curl\nEOF\n", "apk add left as written: heredoc RUN"),
    ("FROM alpine:3.20\nRUN apk add curl && echo \"unclosed\n", "apk add left as written: its shell text does not parse"),
])
def test_commands_left_alone_say_why(tmp_path, text, reason):
    out, skips = run(tmp_path, text)
    assert out == text
    assert reason in skips


# -- consolidation's reference finder -----------------------------------------

def found(text: str, path: str, kind: str) -> list[tuple[str, str | None]]:
    return [(text[c.start:c.end_kw], build_cmds.file_value(c)) for c in build_cmds.commands(text, path, kind)]


def test_build_commands_in_scripts_but_not_in_strings_comments_or_heredocs():
    text = ("#!/bin/sh\necho \"docker build -f a/Dockerfile a\"  # docker build -f b/Dockerfile b\n"
            "cat <<EOF\ndocker build -f c/Dockerfile c\nEOF\n"
            "sudo docker build -f 'd é/Dockerfile' . && (podman build --file=e/Dockerfile e) | tee log\n")
    assert found(text, "build.sh", "script") == [("docker build", "d é/Dockerfile"),
                                                  ("podman build", "e/Dockerfile")]


def test_build_commands_in_makefile_recipes_and_workflow_run_blocks():
    mk = "IMG = docker build -f x/Dockerfile x\nall:\n\t@docker build -f $(DIR)/Dockerfile \\\n\t  --target t $(DIR)\n"
    assert found(mk, "Makefile", "script") == [("docker build", "$(DIR)/Dockerfile")]
    wf = ("jobs:\n  b:\n    steps:\n      - run: |\n          echo \"docker build -f no/Dockerfile .\"\n"
          "          docker buildx build -f ${{ matrix.s }}/Dockerfile ${{ matrix.s }}\n"
          "      - run: docker build -f y/Dockerfile y\n"
          "      - name: docker build -f z/Dockerfile z\n")
    assert found(wf, ".github/workflows/w.yml", "workflow") == [
        ("docker buildx build", "${{ matrix.s }}/Dockerfile"), ("docker build", "y/Dockerfile")]
    gitlab = "build:\n  script:\n    - docker build -f q/Dockerfile q\n    - 'echo docker build -f r/Dockerfile'\n"
    assert found(gitlab, ".gitlab-ci.yml", "yaml") == [("docker build", "q/Dockerfile")]
