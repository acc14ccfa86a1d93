"""Reading a plan file, for every command that takes ``--plan`` (render, cutover, rollback, unbind, finalize).

Another file of wi-migrator's given where a plan is expected (a catalog report, a fleet file, a rendered
folder or its manifest, a snapshot folder) is named as what it is, with the command that makes a plan.
"""

from __future__ import annotations

from pathlib import Path

from migrator.errors import InputError, Location
from migrator.inputs import read_input
from migrator.plan import validate
from migrator.plan.model import Plan

MAKE_A_PLAN = "migrate plan --fleet fleet.yaml --out plan.json writes one; pass that file"


def read_plan(path: Path) -> Plan:
    """The plan file, checked in full (``plan.validate``) before anything is rendered or changed from it."""
    if path.is_dir():
        raise InputError(f"this is {_folder_kind(path)}, not a plan: run migrate plan", location=Location(path),
                         hint=MAKE_A_PLAN)
    data = read_input(path, "the plan file", hint="create it with: migrate plan --fleet fleet.yaml --out plan.json")
    validate.refuse_too_deep(data, str(path))  # before anything parses it
    other = not_a_plan(data)
    if other is not None:
        raise InputError(f"this is {other}, not a plan: run migrate plan", location=Location(path),
                         hint=MAKE_A_PLAN + (" (or give the fleet file to --fleet)" if other == "a fleet file" else ""))
    return validate.load(data, str(path))


def _folder_kind(path: Path) -> str:
    from migrator.render.tree import MANIFEST

    if (path / MANIFEST).is_file():
        return "a folder written by migrate render"
    if (path / "fleet.yaml").is_file():
        return "a snapshot folder (migrate snapshot)"
    return "a folder"


def not_a_plan(data: bytes) -> str | None:
    """What a file passed as a plan is when it is another file of wi-migrator's (None: maybe a plan)."""
    import msgspec

    from migrator.render.tree import MANIFEST_HEADER

    try:
        head = msgspec.json.decode(data)
    except msgspec.DecodeError:
        head = None
    if isinstance(head, dict):
        version = head.get("schemaVersion")
        if "summary" in head and "findings" in head:
            return f"a catalog report (schemaVersion {version})"
        return None  # a plan, or something decode() names
    if head is not None:
        return None
    if data.startswith(MANIFEST_HEADER.encode()[:40]):
        return "the manifest of a folder written by migrate render"
    if len(data) <= 10_000_000:
        from ruamel.yaml import YAML, YAMLError

        try:
            doc = YAML(typ="safe").load(data)
        except (YAMLError, ValueError):
            return None
        if isinstance(doc, dict) and ("clusters" in doc or "tenantId" in doc):
            return "a fleet file"
    return None
