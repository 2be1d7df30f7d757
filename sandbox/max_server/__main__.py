"""``python -m sandbox.max_server --data DIR ...`` (same options as ``python -m sandbox serve-max``)."""

import sys

from sandbox.max_server.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
