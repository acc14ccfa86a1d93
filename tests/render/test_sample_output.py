"""``sample_output/`` is the example fleet through ``python examples/sample_output.py``: fails when it is stale."""

from __future__ import annotations

import difflib
from pathlib import Path

from examples.sample_output import DEFAULT_OUT, generate


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_sample_output_is_up_to_date(tmp_path: Path) -> None:
    generate(tmp_path / "sample")
    fresh, committed = _tree(tmp_path / "sample"), _tree(DEFAULT_OUT)
    stale = sorted(p for p in fresh.keys() | committed.keys() if fresh.get(p) != committed.get(p))
    detail = ""
    for path in stale[:3]:
        detail += "".join(difflib.unified_diff(
            committed.get(path, b"").decode().splitlines(True), fresh.get(path, b"").decode().splitlines(True),
            f"sample_output/{path}", "regenerated", n=1))[:1500]
    assert not stale, (f"sample_output/ is stale ({len(stale)} files): run  python examples/sample_output.py\n"
                       f"{', '.join(stale[:10])}\n{detail}")
