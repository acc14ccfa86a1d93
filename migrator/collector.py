"""The cyclic garbage collector, paused where a phase builds large acyclic structures.

Building an inventory or a rendered tree allocates millions of small objects and keeps most of them:
the collector would walk the whole growing heap again and again and find next to nothing. Reference
counting still frees everything while it is paused; it runs again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
