"""``python -m fastnn compare``: the same as the ``fastnn`` console script."""
import sys

from .cli import main

sys.exit(main())
