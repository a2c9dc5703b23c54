"""``python -m allocator``: see :mod:`allocator.cli`."""

import sys

from allocator.cli import main

sys.exit(main())
