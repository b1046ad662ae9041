"""Repository root conftest: kept thin. The pytest plugin lives in harness/suite/plugin.py and is
registered through the `pytest11` entry point when the package is installed (pip install -e .)."""

collect_ignore = ["reference_content", "reports", "models"]
