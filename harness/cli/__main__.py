"""`python -m harness.cli`: the same as the `vqa` console script."""

import sys

from harness.cli.app import main

sys.exit(main())
