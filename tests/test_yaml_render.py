"""Scalars fixer writes into YAML load back as the same value and type."""
from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from fixer.yamldoc import Flow, render_entry, render_flow, render_scalar

SETTINGS = settings(max_examples=400, deadline=None)
# strings a YAML resolver may read as something else, and text YAML gives meaning to
TRICKY = st.sampled_from([
    ".5", ".Inf", ".NaN", "0b101", "0o17", "0x1F", "1_000", "1e3", "12:30", "1:20:30", "+1", "-.5",
    "foo:", "a: b", "a #b", "#x", "- x", "? x", "!tag", "&a", "*a", "|", ">", "%x", "@x", "`x",
    "yes", "No", "on", "OFF", "~", "null", "Null", "", " ", "a ", " a", "'", '"', "{", "[", "]",
    ",", "<<", "=", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "a\nb", "\t", "\x85", "\u2028",
    "\ufeff", "\x7f", "\x00", "é", "日本", "nginx:1.25", "a:b", "a,b", "a]b"])
STRINGS = st.one_of(TRICKY, st.text(), st.text(alphabet="abc.:-_/ #'\"\n0123456789eE+x{}[],&*!?|>%@`~"),
                    st.lists(TRICKY, max_size=3).map("".join))


def _load(text):
    return yaml.safe_load(text)


@SETTINGS
@given(STRINGS)
def test_string_reads_back_as_the_same_string(s):
    doc = _load("k: " + render_scalar(s) + "\n")
    assert type(doc["k"]) is str and doc["k"] == s


@SETTINGS
@given(STRINGS, STRINGS)
def test_strings_survive_as_keys_and_in_flow_collections(k, v):
    assert _load(render_flow({k: [v, {v: k}]})) == {k: [v, {v: k}]}
    assert _load("\n".join(render_entry(k, v, 0, 2, 2)) + "\n") == {k: v}
    assert _load("\n".join(render_entry("x", Flow([k, v]), 0, 2, 2)) + "\n") == {"x": [k, v]}


@SETTINGS
@given(st.one_of(st.integers(), st.booleans(), st.none(), st.floats(allow_nan=True)))
def test_numbers_and_booleans_keep_their_type(value):
    got = _load("k: " + render_scalar(value) + "\n")["k"]
    assert type(got) is type(value)
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(got)
    else:
        assert got == value


@pytest.mark.parametrize("value,expected", [
    ("nginx", "nginx"), ("nginx:1.25-alpine", "nginx:1.25-alpine"), ("/var/run/docker.sock", "/var/run/docker.sock"),
    ("ALL", "ALL"), ("unless-stopped", "unless-stopped"), ("app_net", "app_net"),
    (".5", '".5"'), (".Inf", '".Inf"'), ("0b101", '"0b101"'), ("foo:", '"foo:"'), ("0o7", '"0o7"'),
    ("yes", '"yes"'), ("8080", '"8080"'), ("a b", '"a b"'), ("\u2028", '"\\u2028"'),
    (0.5, "0.5"), (1e20, "1.0e+20"), (float("inf"), ".inf"), (3, "3"), (True, "true"),
])
def test_common_values_render_as_before_and_risky_ones_quoted(value, expected):
    assert render_scalar(value) == expected
