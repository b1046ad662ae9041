"""The `vqa` command line: the parser (`app`), shared exit codes and errors (`common`), one module
per command group (`lab`, `analyze`, `reference`, `report`, `bench`, `impair`, `capture`). The top
layer: may import anything; nothing imports it."""
