"""The README's tables are the topology's and the schedule's, and its test command is the one CI runs."""

import re

from core.queues import queue_table, routing_table
from core.schedule import schedule_table
from tests.support import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()


def section(name: str) -> str:
    match = re.search(rf"<!-- {name}:[^>]*-->\n(.*?)\n<!-- /{name} -->", README, re.S)
    assert match, f"no {name} in README.md"
    return match.group(1)


def test_the_readme_queue_table_is_the_topology():
    assert section("queue-table") == queue_table()


def test_the_readme_routing_table_is_the_topology():
    assert section("routing-table") == routing_table()


def test_the_readme_schedule_table_is_the_schedule():
    assert section("schedule-table") == schedule_table()


def test_ci_runs_the_readme_test_command():
    command = "scripts/setup test && .venv/bin/pytest"
    assert f"```bash\n{command}\n```" in README
    assert command in (PROJECT_DIR / ".ci" / "run").read_text()
