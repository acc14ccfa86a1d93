"""The per-cluster progress display: shown to a person at a terminal, never in pipes or CI."""

from __future__ import annotations

import io

import pytest

from migrator.inventory.catalog import catalog
from migrator.pipeline import read_inventory
from migrator.commands.progress import ProgressFleetReader, wanted
from migrator.sources.access import live_access
from migrator.fleet import load_fleet
from migrator.report.json import render
from migrator.report.view import CatalogReport
from tests.live.conftest import Served


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert wanted(_Tty()) and not wanted(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not wanted(_Tty())


def test_progress_reader_shows_each_cluster_and_reads_the_same_fleet(served: Served,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fleet = load_fleet(served.live_fleet())
    plain, azure = live_access(fleet, served.settings())
    assert plain is not None and not isinstance(plain, ProgressFleetReader)  # not a terminal here
    shown = ProgressFleetReader(arm=plain.arm, options=plain.options, clock=served.clock)

    def report(reader) -> str:
        return render(CatalogReport(catalog(read_inventory(fleet, live=reader, live_azure=azure)), ()))

    assert report(shown) == report(plain)
    err = capsys.readouterr().err
    for spec in fleet.clusters:
        assert f"{spec.name}  read" in err
