"""The app loads the Budget planner's heavy imports in the background once per process, after the first page."""

import sys

from dashboards import ui


def test_background_imports_load_the_planner_once() -> None:
    first = ui._background_imports()
    first.join(timeout=60)
    assert not first.is_alive()
    assert all(name in sys.modules for name in ui.BACKGROUND_IMPORTS)
    assert ui._background_imports() is first  # once per process, not on every rerun
