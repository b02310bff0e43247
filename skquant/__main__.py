"""``python -m skquant``: the ``skquant`` command line."""

import sys

from skquant._cli import main

if __name__ == "__main__":
    sys.exit(main())
