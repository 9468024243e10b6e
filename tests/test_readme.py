"""The README's promises: the Python API example runs, and .ci/run runs the Quick start test command."""

import re

from conftest import ROOT


def _quick_start_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)^## ", text, flags=re.S | re.M).group(1)
    return re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)


def test_quick_start_has_two_commands_and_ci_runs_the_test_one_verbatim():
    commands = _quick_start_commands()
    assert len(commands) == 2
    start, test = commands
    assert "coach" in start and "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_python_api_example_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## Python API\n\n```python\n(.*?)```", text, flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["frame"].envelope.shape == (200, 2)
