"""`python -m ccmon` runs the command line."""

from __future__ import annotations

import sys

from ccmon.cli import main

sys.exit(main())
