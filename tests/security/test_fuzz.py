"""Fuzzing the three untrusted inputs: fleet files, snapshot documents and plans (hypothesis, bounded).

For any generated input, every command exits 0, 1, 2 or 3 (never 4: no traceback), prints no traceback, and
writes nothing outside its destination: each example runs in a sandbox folder whose whole tree, outside the
destination, is listed before and after. Nothing reaches a network: clusters are read from snapshot folders or
through an empty kubeconfig, and Azure from a snapshot or not at all.

Bounded for CI: derandomized (the same examples every run), no example database, 200 examples per input
(about 15 s in all).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES
from tests.security.helpers import listing, migrate

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
SNAPSHOT = EXAMPLES / "snapshots" / "aks-dev-weu"
AZURE = EXAMPLES / "snapshots" / "azure"
PLAN = json.loads((EXAMPLES.parent / "sample_output" / "plan.json").read_text())
ALLOWED = {0, 1, 2, 3}

# ------------------------------------------------------------------------------------------- values

#: text with what attacks use: separators, dot segments, control characters, shell and template syntax
HOSTILE = ["..", "../..", "/", "\\", "\x00", "\x1b[2J", "\x07", "\r", "\n", "\u2028", "$(touch pwned)", "`id`",
           "${x}", "%{x}", "'", '"', "[/]", "*", "&a", "<<", "#", ":", "-", "--all", "é", "🚀", " "]
text = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from([*HOSTILE, "aks", "rg", "ns", "a1"]), max_size=6).map("".join),
    st.sampled_from(["aks-a", "aks-b", "rg-a", "westeurope", "00000000-0000-0000-0000-000000000001"]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), text)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(text, inner, max_size=4)), max_leaves=12)


def deep(levels: int, opener: str = "[") -> str:
    closer = {"[": "]", "{": "}"}[opener]
    if opener == "{":
        return '{"a":' * levels + "1" + closer * levels
    return opener * levels + closer * levels


@contextmanager
def sandbox(parent: Path) -> Iterator[tuple[Path, Path]]:
    """(inputs folder, destination folder) inside a fresh box under ``parent``; after the body, nothing outside the
    destination may have changed anywhere under ``parent``."""
    box = Path(tempfile.mkdtemp(dir=parent))
    inputs, dest = box / "in" / "work", box / "dest"
    inputs.mkdir(parents=True)
    dest.mkdir()
    (inputs / "kubeconfig").write_text("")  # context clusters fail fast: no network is reached
    try:
        yield inputs, dest
    finally:
        shutil.rmtree(box, ignore_errors=True)


def outside(parent: Path, dest: Path) -> dict[str, object]:
    return {k: v for k, v in listing(parent).items() if not (parent / k).is_relative_to(dest)}


def run_checked(parent: Path, dest: Path, *args: str | Path) -> None:
    before = outside(parent, dest)
    run = migrate(*args)
    assert run.code in ALLOWED, (args, run.code, run.stderr[-3000:])
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr[-3000:]
    assert outside(parent, dest) == before, f"{args}: something was written outside the destination"


# ------------------------------------------------------------------------------------------- fleet files

def _cluster(draw: Any, names: list[str]) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": draw(st.one_of(st.sampled_from(names), text)),
        "region": draw(st.one_of(st.just("westeurope"), text)),
        "subscriptionId": draw(st.one_of(st.just("00000000-0000-0000-0000-000000000002"), text)),
        "resourceGroup": draw(st.one_of(st.just("rg-aks-dev-weu"), text)),
    }
    # every cluster has a source that needs no network: a snapshot folder (any path) or a context
    if draw(st.booleans()):
        cluster["snapshot"] = draw(st.one_of(st.sampled_from(["snap", "../../..", "/dev", "/dev/zero", "snap/kube",
                                                              "../in/work/snap", "nope"]), text.filter(bool)))
    else:
        cluster["context"] = draw(text)
    for key in draw(st.lists(st.sampled_from(["group", "terraformIssuer", "colour", "proxySidecar"]), max_size=2)):
        cluster[key] = draw(values)
    return cluster


INSERTIONS = [
    "x: &a [1, 2]\ny: [*a, *a, *a]\n", "<<: {colour: x}\n", "z: " + deep(200) + "\n", "k: !!python/object:os.system x\n",
    "tenantId: again\n", "\t- bad indent\n", "\x1b[2J: x\n", "%YAML 9.9\n", "--- \n...\n", "a: *undefined\n",
    "\ufeffa: 1\n", "clusters: {}\n", "b: " + "x" * 5000 + "\n",
]


@st.composite
def fleet_files(draw: Any) -> str:
    names = ["aks-a", "aks-b", "..", "../../x", "a/b", "aks\x1b[2J"]
    doc: dict[str, Any] = {"tenantId": draw(st.one_of(st.just("72f988bf-86f1-41af-91ab-2d7cd011db47"), text)),
                           "clusters": [_cluster(draw, names) for _ in range(draw(st.integers(0, 3)))]}
    if draw(st.booleans()):
        doc["azure"] = draw(st.sampled_from([{"snapshot": "azure"}, {"snapshot": "../.."}, {"live": False},
                                             {"cloud": "Mars"}]))
    for key in draw(st.lists(st.sampled_from(["ignore", "proxySidecar", "extra"]), max_size=2)):
        doc[key] = draw(values)
    text_out = yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), sort_keys=False)
    lines = text_out.splitlines(keepends=True)
    for insertion in draw(st.lists(st.sampled_from(INSERTIONS), max_size=2)):
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, insertion)
    return "".join(lines)


@FUZZ
@given(fleet=fleet_files(), command=st.sampled_from(["catalog", "plan", "snapshot", "render"]))
def test_fuzz_fleet_files(tmp_path: Path, fleet: str, command: str) -> None:
    with sandbox(tmp_path) as (inputs, dest):
        shutil.copytree(SNAPSHOT, inputs / "snap")
        shutil.copytree(AZURE, inputs / "azure")
        (inputs / "fleet.yaml").write_text(fleet, encoding="utf-8", errors="surrogatepass")
        kube = ("--kubeconfig", inputs / "kubeconfig")
        args: dict[str, tuple[str | Path, ...]] = {
            "catalog": ("catalog", "--fleet", inputs / "fleet.yaml", "-o", "json", "--out", dest / "report.json"),
            "plan": ("plan", "--fleet", inputs / "fleet.yaml", "--out", dest / "plan.json"),
            "snapshot": ("snapshot", "--fleet", inputs / "fleet.yaml", "--out", dest / "snap"),
            "render": ("render", "--fleet", inputs / "fleet.yaml", "--out", dest / "migration"),
        }
        run_checked(tmp_path, dest, *args[command], *kube)


# ------------------------------------------------------------------------------------------- snapshot documents

SNAPSHOT_FILES = ["kube/azureidentities.json", "kube/deployments.json", "kube/namespaces.json",
                  "kube/customresourcedefinitions.json", "kube/mutatingwebhookconfigurations.json",
                  "managedcluster.json", "vmss.json", "../azure/identities.json",
                  "../azure/federatedIdentityCredentials.json"]


@st.composite
def snapshot_documents(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["value", "list", "deep", "bytes", "mutated"]))
    if kind == "value":
        return json.dumps(draw(values)).encode()
    if kind == "list":
        wrapper = draw(st.sampled_from(["items", "value"]))
        doc = {"kind": draw(st.one_of(st.just("List"), text)), wrapper: draw(st.lists(values, max_size=4))}
        return json.dumps(doc).encode()
    if kind == "deep":
        return ('{"kind": "List", "items": [{"metadata": {"name": "x", "labels": '
                + deep(draw(st.sampled_from([100, 300, 2000, 100_000])), draw(st.sampled_from(["[", "{"])))
                + "}}]}").encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    return b""


@FUZZ
@given(file=st.sampled_from(SNAPSHOT_FILES), document=snapshot_documents(),
       mutate_existing=st.booleans(), command=st.sampled_from(["catalog", "plan", "snapshot"]))
def test_fuzz_snapshot_documents(tmp_path: Path, file: str, document: bytes, mutate_existing: bool,
                                 command: str) -> None:
    with sandbox(tmp_path) as (inputs, dest):
        shutil.copytree(SNAPSHOT, inputs / "snap")
        shutil.copytree(AZURE, inputs / "azure")
        target = (inputs / "snap" / file).resolve()
        if mutate_existing and target.exists() and document:
            original = target.read_bytes()
            cut = len(document) % max(1, len(original))
            document = original[:cut] + document + original[cut:]  # spliced into a real document
        target.write_bytes(document)
        fleet = yaml.safe_dump({"tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "clusters": [
            {"name": "aks-dev-weu", "region": "westeurope", "subscriptionId": "00000000-0000-0000-0000-000000000002",
             "resourceGroup": "rg-aks-dev-weu", "snapshot": "snap"}], "azure": {"snapshot": "azure"}})
        (inputs / "fleet.yaml").write_text(fleet)
        args: dict[str, tuple[str | Path, ...]] = {
            "catalog": ("catalog", "--fleet", inputs / "fleet.yaml", "-o", "table", "--out", dest / "report.txt"),
            "plan": ("plan", "--fleet", inputs / "fleet.yaml", "--out", dest / "plan.json"),
            "snapshot": ("snapshot", "--fleet", inputs / "fleet.yaml", "--out", dest / "snap"),
        }
        run_checked(tmp_path, dest, *args[command])


# ------------------------------------------------------------------------------------------- plans

def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc[:3]):
            yield from _paths(value, (*prefix, index))


PLAN_PATHS = [p for p in _paths(PLAN) if p]


@st.composite
def plans(draw: Any) -> bytes:
    doc = json.loads(json.dumps(PLAN))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PLAN_PATHS))
        node = doc
        try:
            for part in path[:-1]:
                node = node[part]
            action = draw(st.sampled_from(["set", "delete", "duplicate"]))
            if action == "set":
                node[path[-1]] = draw(st.one_of(values, text, st.just(deep(300))))
            elif action == "delete" and isinstance(node, dict):
                del node[path[-1]]
            elif isinstance(node, list):
                node.append(json.loads(json.dumps(node[path[-1]])))
        except (KeyError, IndexError, TypeError):
            pass
    raw = json.dumps(doc)
    if draw(st.integers(0, 9)) == 0:
        raw = raw.replace('"notes": []', '"notes": ' + deep(100_000))
    return raw.encode()


@FUZZ
@given(plan=plans(), command=st.sampled_from(["render", "status"]))
def test_fuzz_plans(tmp_path: Path, plan: bytes, command: str) -> None:
    with sandbox(tmp_path) as (inputs, dest):
        (inputs / "plan.json").write_bytes(plan)
        if command == "render":
            run_checked(tmp_path, dest, "render", "--plan", inputs / "plan.json", "--out", dest / "migration")
        else:  # through the empty kubeconfig: refused before any cluster could be reached
            run_checked(tmp_path, dest, "cutover", "status", "--plan", inputs / "plan.json",
                        "--kubeconfig", inputs / "kubeconfig")


def test_the_sandbox_check_sees_a_write_outside_the_destination(tmp_path: Path) -> None:
    with sandbox(tmp_path) as (inputs, dest):
        before = outside(tmp_path, dest)
        (dest / "inside").write_text("ok")
        assert outside(tmp_path, dest) == before
        (inputs / "outside").write_text("escaped")
        assert outside(tmp_path, dest) != before

