"""``yamlwriter.dump`` writes exactly PyYAML's bytes, and writes the plain documents itself."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.render import yamlwriter
from migrator.render.yamlwriter import OPTIONS, PLAIN_SAFE, Dumper, dump

#: strings YAML reads as something else, or that start or contain an indicator
TRICKY = ["true", "True", "yes", "on", "off", "no", "y", "n", "null", "Null", "~", "", " ", "1", "0x1F", "0o17", "1e3",
          "1_000", "1.5", ".5", ".inf", "-.inf", ".nan", "2001-12-14", "2001-12-14 21:59:43.10 -5", "=", "<<", "-",
          "- a", "-a", "a-", "---", "...", "a: b", "a:b", "a #b", "a#b", "#a", "?", "? a", ":a", "a,b", "[a]", "{a}",
          "&a", "*a", "!a", "|", "|a", ">a", "a>", "'a'", '"a"', "%a", "@a", "`a`", "a  b", " a", "a ", "a\nb",
          "a\tb", "é", "a\u2028b", "x" * 128, "x" * 129, "$patch", "^(a|b)$", "a\\.b", "<terraform output -raw x>"]
PUNCTUATION = " :#,?[]{}&*!|>'\"%@`-_.$^<>/\\()+=~\n\t\r\x00\x7f\x85\u00e9\u2028\ufeff"

strings = st.one_of(
    st.from_regex(PLAIN_SAFE, fullmatch=True),
    st.sampled_from(TRICKY),
    st.text(alphabet=st.sampled_from(PUNCTUATION + "ab01"), max_size=8),
)
#: plain-safe strings, the YAML 1.1 look-alikes among them: documents the fast path writes whole
plain_strings = st.one_of(st.from_regex(PLAIN_SAFE, fullmatch=True),
                          st.sampled_from([t for t in TRICKY if PLAIN_SAFE.fullmatch(t)]))


def documents(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, object]]:
    leaves = st.one_of(text, st.none())
    return st.recursive(
        st.dictionaries(text, leaves, max_size=4),
        lambda inner: st.dictionaries(
            text, st.one_of(leaves, inner, st.lists(st.one_of(leaves, inner), max_size=3)), max_size=4),
        max_leaves=12,
    )


def pyyaml(doc: object) -> str:
    return yaml.dump(doc, Dumper=Dumper, **OPTIONS)


@settings(max_examples=300, deadline=None)
@given(documents(plain_strings))
def test_plain_documents_the_same_bytes_as_pyyaml(doc: dict[str, object]) -> None:
    assert dump(doc) == pyyaml(doc)


@settings(max_examples=300, deadline=None)
@given(documents(strings))
def test_any_documents_the_same_bytes_as_pyyaml(doc: dict[str, object]) -> None:
    assert dump(doc) == pyyaml(doc)


@given(st.lists(strings, min_size=1, max_size=6))
def test_strings_as_keys_values_and_list_items(texts: list[str]) -> None:
    doc = {"items": texts, "nested": {t: t for t in texts}, "list": [{t: {"k": t}} for t in texts]}
    assert dump(doc) == pyyaml(doc)


def test_tricky_strings_one_by_one() -> None:
    for text in TRICKY:
        for doc in ({"k": text}, {text: "v"}, {"k": [text]}, {"k": [{text: text, "x": None}]}):
            assert dump(doc) == pyyaml(doc), doc


def test_layout_and_other_values_as_pyyaml() -> None:
    for doc in ({}, {"a": {}}, {"a": []}, {"a": [[1, 2]]}, {"a": 1}, {"a": True}, {1: "a"}, {None: "a"},
                {"a": [{"b": [{"c": None}], "d": {"e": ["f"]}}], "g": "h"}):
        assert dump(doc) == pyyaml(doc), doc


def test_render_documents_are_written_without_pyyaml() -> None:
    """The documents render makes are plain: the fast path, not the fallback, writes them."""
    doc = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "invoice-renderer", "namespace": "billing"},
           "spec": {"template": {"metadata": {"labels": {"azure.workload.identity/use": "true",
                                                         "aadpodidbinding": None}}}},
           "patches": [{"path": "patch-a.yaml", "target": {"name": "app\\.v2", "namespace": "^(billing|default)$"}}],
           "$patch": "delete", "client-id": "<terraform output -raw client_id_x>"}
    lines: list[str] = []
    yamlwriter._mapping(doc, "", "", lines)
    assert "".join(lines) == pyyaml(doc)
