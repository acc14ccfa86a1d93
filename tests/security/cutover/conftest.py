"""The cutover harness (tests/cutover): the example fleet served, its plan, a ready namespace."""

from tests.cutover.conftest import example_plan, ready, reference, served  # noqa: F401
