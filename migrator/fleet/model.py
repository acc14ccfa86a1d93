"""The fleet file: which clusters to read, from where, and how they group into peers.

Loaded with ruamel.yaml (to keep line numbers) and validated with pydantic; every error names
``file:line:column`` and the key. The model is frozen: once loaded it is only read.

A cluster has exactly one source: ``snapshot`` (a folder of exported API documents) today;
``context`` (a kubeconfig context) and ARM-resolved live clusters are the live kinds.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from migrator.errors import FleetFileError, Location
from migrator.inputs import MAX_FLEET_BYTES, InputLimitError, YamlLimitError, bounded_yaml, read_regular

# ------------------------------------------------------------------------------------------ names
#
# Every name in the fleet file reaches a folder name (migrate snapshot), an ARM request path or a
# terminal; each is checked here, once, so nothing later has to guess (docs/security.md).

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Azure's rule for AKS cluster names (Microsoft.ContainerService/managedClusters)
CLUSTER_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")
#: Azure's rule for resource group names: letters (Unicode), digits, '_', '-', '.', '(', ')', not ending in '.'
RESOURCE_GROUP = re.compile(r"[\w().-]{0,89}[\w()-]")


def _text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(f"{value!r} holds a control character (newline, escape, NUL, ...): not allowed here")
    return value


def _segment(value: str) -> str:
    """A value that becomes one segment of an ARM path: no control character, no '/', '?', '#', not '.' or '..'."""
    _text(value)
    if value in (".", "..") or any(c in value for c in "/\\?#"):
        raise ValueError(f"{value!r} cannot be part of an Azure resource ID (no '/', '\\', '?', '#', '.' or '..')")
    return value


def _cluster_name(value: str) -> str:
    if not CLUSTER_NAME.fullmatch(value):
        raise ValueError(f"cluster name {value!r} is not an AKS cluster name: 1-63 letters, digits, '-' and '_', "
                         "starting and ending with a letter or digit")
    return value


def _resource_group(value: str) -> str:
    if not RESOURCE_GROUP.fullmatch(value):
        raise ValueError(f"resource group {value!r} is not an Azure resource group name: 1-90 letters, digits, "
                         "'_', '-', '.', '(' and ')', not ending in '.'")
    return value


def _path_text(value: Any) -> Any:
    if isinstance(value, str):
        _text(value)
    return value


Text = Annotated[str, AfterValidator(_text)]
Segment = Annotated[str, AfterValidator(_segment)]
ClusterName = Annotated[str, AfterValidator(_cluster_name)]
ResourceGroup = Annotated[str, AfterValidator(_resource_group)]
FolderPath = Annotated[Path, BeforeValidator(_path_text)]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class IgnoreRule(_Model):
    """A finding accepted on purpose: silenced, counted, and shown as ignored."""

    code: Text
    cluster: Text | None = None
    namespace: Text | None = None
    object: Text | None = None
    reason: str = Field(min_length=1)  # free text (may span lines); shown escaped


class ClusterSpec(_Model):
    """One cluster of the fleet and the one source it is read from."""

    name: ClusterName
    region: Segment = Field(min_length=1)
    subscription_id: Segment = Field(min_length=1)
    resource_group: ResourceGroup
    group: Text | None = None
    snapshot: FolderPath | None = None
    context: Text | None = None
    #: a ``context:`` cluster's managed cluster and scale sets: "arm", or a file (``az aks show -o json``,
    #: ``az vmss list -o json``) relative to the fleet file
    managed_cluster: Literal["arm"] | Path | None = None
    scale_sets: Literal["arm"] | Path | None = None
    terraform_issuer: Text | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ClusterSpec:
        if self.snapshot is not None and self.context is not None:
            raise ValueError("give exactly one source: 'snapshot' or 'context', not both")
        if self.context is None and (self.managed_cluster is not None or self.scale_sets is not None):
            raise ValueError("'managedCluster' and 'scaleSets' are for a 'context' cluster (a snapshot folder holds "
                             "its own; a cluster read through ARM takes them from ARM)")
        return self

    @property
    def source_kind(self) -> str:
        """snapshot | context | arm (a cluster with neither is read live through ARM)."""
        if self.snapshot is not None:
            return "snapshot"
        return "context" if self.context is not None else "arm"

    @property
    def peer_group(self) -> str:
        """Drift is compared within a group; a cluster without one is its own group."""
        return self.group or self.name


class AzureSpec(_Model):
    """Where the fleet's Azure identities and federated credentials come from."""

    snapshot: FolderPath | None = None
    live: bool = False
    cloud: Literal["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"] = "AzureCloud"

    @model_validator(mode="after")
    def _one_source(self) -> AzureSpec:
        if self.snapshot is not None and self.live:
            raise ValueError("give exactly one source: 'snapshot' or 'live: true', not both")
        return self


class Fleet(_Model):
    """The validated fleet file."""

    tenant_id: Segment = Field(min_length=1)
    clusters: tuple[ClusterSpec, ...] = Field(min_length=1)
    azure: AzureSpec | None = None
    ignore: tuple[IgnoreRule, ...] = ()
    #: workloads to plan with the migration sidecar: "namespace/workload" or "cluster/namespace/workload"
    proxy_sidecar: tuple[Text, ...] = ()
    #: The fleet file itself; snapshot paths are resolved against its folder.
    path: Path = Field(default=Path("fleet.yaml"), exclude=True)

    @field_validator("clusters")
    @classmethod
    def _unique_names(cls, clusters: tuple[ClusterSpec, ...]) -> tuple[ClusterSpec, ...]:
        seen: set[str] = set()
        for index, cluster in enumerate(clusters):
            if cluster.name in seen:
                raise _DuplicateName(index, cluster.name)
            seen.add(cluster.name)
        return clusters

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: Path) -> Path:
        """A path from the fleet file, resolved against the fleet file's folder."""
        return relative if relative.is_absolute() else self.base_dir / relative


class _DuplicateName(ValueError):
    def __init__(self, index: int, name: str) -> None:
        super().__init__(f"duplicate cluster name {name!r}: names must be unique in the fleet")
        self.index = index
        self.name = name


# --------------------------------------------------------------------------- loading


def load_fleet(path: Path, *, check_folders: bool = True) -> Fleet:
    """Read, parse and validate a fleet file; raise ``FleetFileError`` with file:line on any problem."""
    data = load_yaml(path)
    if not isinstance(data, CommentedMap):
        raise FleetFileError(
            "the fleet file must be a mapping with 'tenantId' and 'clusters'", location=Location(path, 1, 1)
        )
    try:
        fleet = Fleet.model_validate({**_plain(data), "path": path})
    except ValidationError as exc:
        raise _fleet_error(path, data, exc) from None

    if check_folders:
        _check_snapshot_folders(fleet, data)
    return fleet


def read_text(path: Path) -> str:
    """The fleet file's text: a regular file of at most ``MAX_FLEET_BYTES``, UTF-8."""
    try:
        return read_regular(path, limit=MAX_FLEET_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise FleetFileError(
            "fleet file not found", location=Location(path),
            hint="pass the path of your fleet file with --fleet (see docs/fleet-file.md)",
        ) from None
    except InputLimitError as exc:
        raise FleetFileError(f"cannot read the fleet file: {exc}", location=Location(path),
                             hint="a fleet file is a YAML file of at most "
                                  f"{MAX_FLEET_BYTES // (1024 * 1024)} MB") from None
    except OSError as exc:
        raise FleetFileError(f"cannot read the fleet file: {exc.strerror or exc}", location=Location(path)) from None
    except UnicodeDecodeError as exc:
        raise FleetFileError(f"cannot read the fleet file: not UTF-8 ({exc.reason} at byte {exc.start})",
                             location=Location(path)) from None


def load_yaml(path: Path, text: str | None = None) -> Any:
    """The fleet file parsed round-trip (line numbers, comments), within the limits of ``migrator.inputs``."""
    if text is None:
        text = read_text(path)
    try:
        return bounded_yaml().load(text)
    except YamlLimitError as exc:
        raise FleetFileError(f"the fleet file is refused: {exc.problem}", location=_mark(path, exc),
                             hint="a fleet file needs neither deep nesting nor many aliases; "
                                  "write the clusters out") from None
    except MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "invalid YAML"
        raise FleetFileError(f"YAML syntax error: {problem}", location=_mark(path, exc),
                             hint="fix the YAML at that position") from None
    except YAMLError as exc:  # ruamel's unmarked errors
        raise FleetFileError(f"YAML syntax error: {exc}", location=Location(path),
                             hint="fix the YAML (see docs/fleet-file.md)") from None
    except Exception as exc:  # the parser fails on some hostile input with KeyError & co (%YAML 9.9)
        raise FleetFileError(f"the YAML cannot be read ({type(exc).__name__}: {exc})", location=Location(path),
                             hint="fix the YAML (see docs/fleet-file.md)") from None


def _mark(path: Path, exc: MarkedYAMLError) -> Location:
    mark = exc.problem_mark or exc.context_mark
    return Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def _fleet_error(path: Path, data: CommentedMap, exc: ValidationError) -> FleetFileError:
    """The first validation error (an unknown key before the missing one it often explains), located."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _DuplicateName):
        where = _locate(path, data, ("clusters", ctx_error.index, "name"))
        return FleetFileError(str(ctx_error), location=where, hint="rename one of the clusters")
    dotted = _dotted(loc)
    if kind == "extra_forbidden":
        where = _locate(path, data, loc)
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == loc[:-1]]
        known = {f.alias or n for m in _Model.__subclasses__() for n, f in m.model_fields.items()} - {"path"}
        close = difflib.get_close_matches(str(loc[-1]), missing or sorted(known), n=1)
        also = (f"; missing required key {', '.join(repr(m) for m in missing)} in {_dotted(loc[:-1]) or 'the top level'}"
                if missing and not close else "")
        return FleetFileError(
            f"unknown key '{loc[-1]}'" + (f" (did you mean '{close[0]}'?)" if close else "") + f" at {dotted}{also}",
            location=where,
            hint="check the spelling; the keys are listed in docs/fleet-file.md",
        )
    if kind == "missing":
        where = _locate(path, data, loc[:-1])
        return FleetFileError(
            f"missing required key '{loc[-1]}' in {_dotted(loc[:-1]) or 'the top level'}",
            location=where, hint=f"add '{loc[-1]}:' (see docs/fleet-file.md)",
        )
    where = _locate(path, data, loc)
    message = error["msg"].removeprefix("Value error, ")
    return FleetFileError(f"{dotted}: {message}", location=where)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(path: Path, data: CommentedMap, loc: tuple[Any, ...]) -> Location:
    """The line and column of the deepest node of ``loc`` that exists in the YAML tree."""
    node: Any = data
    line, column = 1, 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            try:
                ln, col = node.lc.key(part)
            except KeyError:  # a key brought in by a merge key (<<: *anchor): the mapping's own line
                ln, col = node.lc.line, node.lc.col
            line, column = ln + 1, col + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            ln, col = node.lc.item(part)
            line, column = ln + 1, col + 1
            node = node[part]
        else:
            break
    return Location(path, line, column)


def _check_snapshot_folders(fleet: Fleet, data: CommentedMap) -> None:
    for index, cluster in enumerate(fleet.clusters):
        if cluster.snapshot is not None:
            folder = fleet.resolve(cluster.snapshot)
            if not folder.is_dir():
                raise FleetFileError(
                    f"snapshot folder of cluster '{cluster.name}' does not exist: {folder}",
                    location=_locate(fleet.path, data, ("clusters", index, "snapshot")),
                    hint="the path is relative to the fleet file; export the cluster first (docs/snapshots.md)",
                )
    if fleet.azure is not None and fleet.azure.snapshot is not None:
        folder = fleet.resolve(fleet.azure.snapshot)
        if not folder.is_dir():
            raise FleetFileError(
                f"Azure snapshot folder does not exist: {folder}",
                location=_locate(fleet.path, data, ("azure", "snapshot")),
                hint="the path is relative to the fleet file; export identities first (docs/snapshots.md)",
            )
