"""Parsed documents: the right parser for each kind of infrastructure file."""
from __future__ import annotations

from . import discovery as disc
from .dockerdoc import Dockerfile
from .helm import HelmTemplate
from .text import TextFile
from .yamldoc import ParseError, YamlFile


class PythonFile(TextFile):
    kind = disc.PYTHON

    def __init__(self, path, text, bom=False):
        super().__init__(path, text, bom)
        self._module = None

    @property
    def module(self):
        """libcst module (parsed on first use)."""
        if self._module is None:
            import libcst

            try:
                self._module = libcst.parse_module(self.text)
            except libcst.ParserSyntaxError as exc:
                raise ParseError(f"invalid Python (line {exc.raw_line}): {exc.message}") from None
        return self._module


def make_document(path: str, kind: str, text: str, bom: bool) -> TextFile:
    if kind == disc.DOCKERFILE:
        return Dockerfile(path, text, bom)
    if kind == disc.HELM:
        return HelmTemplate(path, text, bom)
    if kind == disc.PYTHON:
        return PythonFile(path, text, bom)
    if kind in (disc.COMPOSE, disc.K8S, disc.WORKFLOW, disc.YAML, disc.HELM_VALUES):
        doc = YamlFile(path, text, bom)
        doc.kind = kind
        return doc
    doc = TextFile(path, text, bom)
    doc.kind = kind
    return doc
