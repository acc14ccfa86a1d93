"""The record's ``progress`` is a typed struct now; records written before it (dicts of the same JSON) must
read into it unchanged and be written back byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrator.cutover.engine.record import LabelMark, Progress, Record, StepMark

OLD_RECORDS = json.loads((Path(__file__).parent / "data" / "records_before_progress_struct.json").read_text())
AT = "2026-01-01T00:00:00Z"
STEPS = {key: StepMark(at=AT, by="tester@lab") for key in ("label", "service-accounts", "unbind-label")}


class _ConfigMaps:
    """Just enough of KubeApi for a Record: the ConfigMap as an older release left it, and the patches sent."""

    def __init__(self, config_map: dict[str, Any]) -> None:
        self.config_map = config_map
        self.patches: list[dict[str, Any]] = []

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.config_map

    def patch(self, kind: str, namespace: str | None, name: str, body: Any, **kw: Any) -> dict[str, Any]:
        self.patches.append(body)
        return self.config_map


EXPECTED = {
    "cut-over": Progress(operation="cutover", state="cut-over", steps=STEPS, label=LabelMark(AT, AT), completed=AT),
    "unbound": Progress(operation="unbind", state="unbound", steps=STEPS, label=LabelMark(AT, AT), completed=AT,
                        unbound=AT),
    "rolled-back": Progress(operation="rollback", state="rolled-back", steps=STEPS, completed=AT, by="tester@lab",
                            unbound=AT),
    "cut-over-again": Progress(operation="cutover", state="cut-over", steps=STEPS, label=LabelMark(AT, AT),
                               completed=AT, by="tester@lab", unbound=AT),
}


@pytest.mark.parametrize("stage", sorted(EXPECTED))
def test_a_record_written_before_the_struct_reads_into_it_and_writes_back_the_same_bytes(stage: str) -> None:
    kube = _ConfigMaps(OLD_RECORDS[stage])
    record = Record(kube, "demo")  # type: ignore[arg-type]
    progress = record.progress
    assert progress == EXPECTED[stage]
    record.put_progress(progress)
    assert kube.patches == [{"data": {"progress": OLD_RECORDS[stage]["data"]["progress"]}}]


def test_no_progress_reads_as_an_empty_one_and_writes_only_what_is_set() -> None:
    kube = _ConfigMaps({"data": {}})
    record = Record(kube, "demo")  # type: ignore[arg-type]
    assert record.progress == Progress()
    record.put_progress(Progress(operation="cutover", state="in-progress", label=LabelMark(started=AT)))
    assert kube.patches[0]["data"]["progress"] == \
        '{"label": {"started": "2026-01-01T00:00:00Z"}, "operation": "cutover", "state": "in-progress"}'


def test_a_new_line_of_work_starts_a_fresh_section_and_keeps_the_old_one_as_history() -> None:
    kube = _ConfigMaps(OLD_RECORDS["rolled-back"])
    old = Record(kube, "demo").progress  # type: ignore[arg-type]
    fresh = old.begin("cutover")
    assert fresh == Progress(operation="cutover", history=(old,))
    assert fresh.begin("unbind") is fresh and old.begin("rollback") is old
    again = Record(_ConfigMaps({"data": {}}), "demo")  # type: ignore[arg-type]
    again.put_progress(fresh)
    assert Record(_ConfigMaps({"data": {"progress": again.kube.patches[0]["data"]["progress"]}}),  # type: ignore
                  "demo").progress == fresh
