"""Regenerate ``sample_output/``: the example fleet through every command, with their default options.

    python examples/sample_output.py            # writes sample_output/ next to examples/
    python examples/sample_output.py --out DIR  # elsewhere (the staleness test renders into a temporary folder)

(A script of the repository, not of the package: the wheel does not carry it.)

It runs the same functions as::

    migrate catalog --fleet examples/fleet.yaml -o json     --out sample_output/catalog.json
    migrate catalog --fleet examples/fleet.yaml -o markdown --out sample_output/catalog.md
    migrate plan    --fleet examples/fleet.yaml             --out sample_output/plan.json
    migrate render  --fleet examples/fleet.yaml             --out sample_output/migration

and is safe to re-run: each file is replaced whole, and ``migration/`` keeps its manifest.
``tests/render/test_sample_output.py`` fails when the committed ``sample_output/`` is stale.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

from migrator.errors import MigratorError

REPO = Path(__file__).resolve().parent.parent
FLEET = REPO / "examples" / "fleet.yaml"
DEFAULT_OUT = REPO / "sample_output"
README = """\
# Sample output

The example fleet (`examples/fleet.yaml`) through every command, with their default options.
Regenerate it with `python examples/sample_output.py` (a test fails when it is stale).

| File | Command |
| --- | --- |
| `catalog.json` | `migrate catalog --fleet examples/fleet.yaml -o json --out sample_output/catalog.json` |
| `catalog.md` | `migrate catalog --fleet examples/fleet.yaml -o markdown --out sample_output/catalog.md` |
| `plan.json` | `migrate plan --fleet examples/fleet.yaml --out sample_output/plan.json` |
| `migration/` | `migrate render --fleet examples/fleet.yaml --out sample_output/migration` |
"""


def generate(out: Path = DEFAULT_OUT, fleet: Path = FLEET) -> None:
    """Write the sample into ``out``; command summaries are swallowed (the files are the result)."""
    from migrator.commands.catalog import run_catalog
    from migrator.commands.plan import run_plan
    from migrator.commands.render import run_render
    from migrator.write import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run_catalog(fleet, output="json", out=out / "catalog.json", fail_on="never", ignore=frozenset())
        run_catalog(fleet, output="markdown", out=out / "catalog.md", fail_on="never", ignore=frozenset())
        run_plan(fleet, out=out / "plan.json", check=False)
        run_render(plan_path=None, fleet_path=fleet, out=out / "migration")
    atomic_write_text(out / "README.md", README)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python examples/sample_output.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (default: sample_output/)")
    args = parser.parse_args(argv)
    try:
        generate(args.out)
    except MigratorError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return int(exc.exit_code)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
