"""Release suites in pytest: the plugin registered through `pytest11` (`plugin`), the scenario
helper (`scenario`), the verdict policy (`verdict`). May import devices, capture, analysis, report
and everything below them; never the cli."""
