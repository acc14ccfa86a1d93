"""The fleet file's text for discovered clusters: a new file, or merged into an existing one.

Deterministic: sorted by subscription, resource group, name. ``--merge`` keeps what people wrote
there: groups, sources, ignores, comments.

The YAML is assembled line by line (the values quoted by ruamel.yaml), not re-dumped from a parsed
tree: a merge then moves each cluster's lines, comments included, as one block, and everything
outside the ``clusters:`` list stays byte for byte as it was. The result is validated with the fleet
model before it is returned.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migrator.errors import InputError, Location, OutputError
from migrator.fleet.discovery import DiscoveredCluster, Discovery, Scope
from migrator.fleet.groups import guess_group
from migrator.fleet.model import Fleet, load_yaml

STATUS_PREFIX = "pod-identity add-on:"
#: The block of clusters not written ends the file and starts with this line; --merge replaces it.
NOT_LISTED_MARKER = "# ---- not listed by migrate discover ----"
_COMMENT_COLUMN = 40


@dataclass
class DiscoverResult:
    discovery: Discovery
    written: int = 0            # clusters in the file
    new: int = 0                # discovered clusters added to the file
    kept: int = 0               # clusters already in the file (--merge), discovered again
    untouched: int = 0          # clusters in the file that this discovery did not find (--merge)
    not_listed: list[tuple[DiscoveredCluster, str]] = field(default_factory=list)
    text: str = ""


def status_comment(cluster: DiscoveredCluster) -> str:
    """``pod-identity add-on: on, OIDC issuer: off, workload identity: off`` (+ where it was read)."""

    def word(flag: bool | None) -> str:
        return "unknown" if flag is None else ("on" if flag else "off")

    text = (f"{STATUS_PREFIX} {word(cluster.pod_identity)}, OIDC issuer: {word(cluster.oidc_issuer)}, "
            f"workload identity: {word(cluster.workload_identity)}")
    if cluster.source == "arm":
        text += " (read with an ARM list: Resource Graph had only part of it)"
    elif cluster.source == "partial":
        text += " (Resource Graph had only part of it; the ARM list failed)"
    return text


# ----------------------------------------------------------------------------------------- YAML text

_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _scalar(key: str, value: str) -> str:
    """``key: value`` with the value quoted where YAML needs it (also where YAML 1.1 would not read a string)."""
    if value.lower() in _YAML11_WORDS:
        return f"{key}: '{value}'"
    yaml = YAML(typ="rt")
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump({key: value}, out)
    return out.getvalue().rstrip("\n")


def _with_comment(line: str, comment: str) -> str:
    return f"{line.ljust(_COMMENT_COLUMN - 1)} # {comment}"


def _item_lines(cluster: DiscoveredCluster, group: str | None, dash_col: int, key_col: int) -> list[str]:
    pairs = [("name", cluster.name), ("region", cluster.region), ("subscriptionId", cluster.subscription_id),
             ("resourceGroup", cluster.resource_group)]
    if group:
        pairs.append(("group", group))
    lines = []
    for i, (key, value) in enumerate(pairs):
        text = _scalar(key, value)
        if i == 0:
            lead = " " * dash_col + "-" + " " * max(1, key_col - dash_col - 1)
            lines.append(_with_comment(lead + text, status_comment(cluster)))
        else:
            lines.append(" " * key_col + text)
    return [ln + "\n" for ln in lines]


def _header(scope: Scope, where: str | None, only_pod_identity: bool) -> list[str]:
    lines = [
        "# Fleet file written by `migrate discover` (docs/discover.md); the keys are in docs/fleet-file.md.",
        f"# Scope: {scope.describe()}.",
    ]
    if where:
        lines.append(f"# Filter (--where): {' '.join(where.split())}")
    if only_pod_identity:
        lines.append("# Only clusters with the pod identity add-on (--only-pod-identity).")
    lines += [
        "# A cluster without snapshot: or context: is read live through ARM. The comment on each name says",
        "# whether the pod identity add-on, the OIDC issuer and workload identity are on.",
        "# group: the tag group, env or environment, else the name without region and generic tokens.",
        "# Edit freely (groups, ignore:, comments): `migrate discover --merge` keeps your edits.",
    ]
    return [ln + "\n" for ln in lines]


def _not_listed_block(items: list[tuple[DiscoveredCluster, str]]) -> list[str]:
    if not items:
        return []
    lines = [NOT_LISTED_MARKER + "\n"]
    for cluster, reason in sorted(items, key=lambda it: it[0].key):
        lines.append(f"#   {cluster.name} (subscription {cluster.subscription_id}, resource group "
                     f"{cluster.resource_group}, {cluster.region}): {reason}\n")
    return lines


def _strip_not_listed(text: str) -> str:
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.rstrip("\n") == NOT_LISTED_MARKER:
            end = i + 1
            while end < len(lines) and lines[end].startswith("#   "):
                end += 1
            del lines[i:end]
            break
    return "".join(lines)


# ------------------------------------------------------------------------------------- the fleet text


@dataclass
class _Block:
    """One item of ``clusters:`` in the text: the comment lines before it and its own lines."""

    key: tuple[str, str, str]
    name: str
    lead: list[str]
    lines: list[str]
    name_index: int = 0          # the line of the `name:` key within ``lines``


@dataclass
class _Parsed:
    head: list[str]              # up to and including the `clusters:` line
    blocks: list[_Block]
    tail: list[str]              # after the last item
    dash_col: int
    key_col: int
    data: CommentedMap


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _parse(path: Path, text: str) -> _Parsed:
    data = load_yaml(path, text)
    seq = data.get("clusters") if isinstance(data, CommentedMap) else None
    if not isinstance(seq, CommentedSeq) or not seq or seq.fa.flow_style() or any(
            not isinstance(item, CommentedMap) or item.fa.flow_style() for item in seq):
        raise InputError("--merge needs 'clusters:' as a block list of block mappings",
                         location=Location(path), hint="write the list one '- name: …' item per cluster")
    lines = text.splitlines(keepends=True)
    clusters_line = data.lc.key("clusters")[0]
    later = [data.lc.key(k)[0] for k in data if data.lc.key(k)[0] > clusters_line]
    seq_end = min(later) if later else len(lines)
    dashes: list[int] = []
    for i in range(len(seq)):
        line = seq.lc.item(i)[0]
        while line > clusters_line and not lines[line].lstrip().startswith("-"):
            line -= 1
        dashes.append(line)
    first = lines[dashes[0]]
    dash_col = len(first) - len(first.lstrip())
    key_col = seq[0].lc.col if seq[0].lc.col is not None else dash_col + 2
    blocks: list[_Block] = []
    cursor = clusters_line + 1
    for i, item in enumerate(seq):
        stop = dashes[i + 1] if i + 1 < len(seq) else seq_end
        last = max(j for j in range(dashes[i], stop) if _is_content(lines[j]))
        key = (str(item.get("subscriptionId", "")).lower(), str(item.get("resourceGroup", "")).lower(),
               str(item.get("name", "")).lower())
        blocks.append(_Block(key, str(item.get("name", "")), lines[cursor:dashes[i]], lines[dashes[i]:last + 1],
                             item.lc.key("name")[0] - dashes[i]))
        cursor = last + 1
    return _Parsed(lines[:clusters_line + 1], blocks, lines[cursor:], dash_col, key_col, data)


_TRAILING_COMMENT = re.compile(r"^(?P<code>.*?\S)(?P<space>[ \t]+)#(?P<comment>.*?)(?P<eol>\r?\n?)$")


def _refresh_status(block: _Block, cluster: DiscoveredCluster) -> None:
    """Replace our status comment on the item's ``name`` line (or add it where the line has none)."""
    index = block.name_index
    line = block.lines[index]
    m = _TRAILING_COMMENT.match(line)
    body, ending = (line.rstrip("\r\n"), line[len(line.rstrip("\r\n")):]) if not m else (m["code"], m["eol"])
    if m and not m["comment"].strip().startswith(STATUS_PREFIX):
        return  # a comment of yours: left as it is
    block.lines[index] = _with_comment(body, status_comment(cluster)) + (ending or "\n")


def _validate(path: Path, text: str) -> None:
    """The text loads with the fleet model (the same rules as load_fleet, folders not checked)."""
    try:
        Fleet.model_validate({**json.loads(json.dumps(load_yaml(path, text), default=str)), "path": path})
    except ValidationError as exc:  # a bug: discovery must always write a valid fleet
        raise OutputError(f"the fleet file discover built does not validate: {exc.errors()[0]['msg']}",
                          location=Location(path), hint="please report this with the command you ran") from None


def build_text(discovery: Discovery, *, scope: Scope, where: str | None = None, only_pod_identity: bool = False,
               existing: str | None = None, path: Path = Path("fleet.yaml"), cloud: str = "AzureCloud"
               ) -> DiscoverResult:
    """The fleet file's text: a new one, or ``existing`` with the discovered clusters merged in."""
    result = DiscoverResult(discovery)
    parsed = _parse(path, _strip_not_listed(existing)) if existing is not None else None
    blocks: dict[tuple[str, str, str], _Block] = {b.key: b for b in parsed.blocks} if parsed else {}
    items = {(str(i.get("subscriptionId", "")).lower(), str(i.get("resourceGroup", "")).lower(),
              str(i.get("name", "")).lower()): i for i in parsed.data["clusters"]} if parsed else {}
    names = {b.name.lower(): b.key for b in blocks.values()}
    dash_col, key_col = (parsed.dash_col, parsed.key_col) if parsed else (2, 4)
    seen: set[tuple[str, str, str]] = set()
    for cluster in discovery.clusters:
        if cluster.key in blocks:
            _refresh_status(blocks[cluster.key], cluster)
            seen.add(cluster.key)
            result.kept += 1
            continue
        if only_pod_identity and cluster.pod_identity is False:
            result.not_listed.append((cluster, "pod identity add-on off (--only-pod-identity); a self-installed "
                                               "AAD Pod Identity is found only by migrate catalog"))
            continue
        if cluster.name.lower() in names:
            other = names[cluster.name.lower()]
            result.not_listed.append((cluster, f"the name is already used in the fleet by the cluster in "
                                               f"subscription {other[0]}, resource group {other[1]} "
                                               "(fleet names are unique)"))
            continue
        group = guess_group(cluster.name, cluster.tags, cluster.region)
        blocks[cluster.key] = _Block(cluster.key, cluster.name, [], _item_lines(cluster, group, dash_col, key_col))
        names[cluster.name.lower()] = cluster.key
        seen.add(cluster.key)
        result.new += 1
    result.untouched = len([k for k in items if k not in seen])
    if not blocks:
        raise InputError("no cluster to write", hint="nothing in scope passed the filters")
    ordered = [blocks[k] for k in sorted(blocks)]
    if parsed is not None:
        head, tail = parsed.head, parsed.tail
    else:
        head = [*_header(scope, where, only_pod_identity),
                _scalar("tenantId", discovery.tenant_id or "") + "\n", "clusters:\n"]
        tail = ["azure:\n", _with_comment("  live: true", "identities, federated credentials, role assignments: "
                                                         "read live through ARM") + "\n"]
        if cloud != "AzureCloud":
            tail.append(f"  cloud: {cloud}\n")
    body: list[str] = []
    for block in ordered:
        body += block.lead + block.lines
    tail = list(tail)
    if tail and not tail[-1].endswith("\n"):
        tail[-1] += "\n"
    text = "".join(head + body + tail + _not_listed_block(result.not_listed))
    _validate(path, text)
    result.written = len(ordered)
    result.text = text
    return result
