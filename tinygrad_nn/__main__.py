"""``python -m tinygrad_nn``: the command line (see ``tinygrad_nn.cli``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
