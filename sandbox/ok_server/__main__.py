"""``python -m sandbox.ok_server --data DIR ...`` (same options as ``python -m sandbox serve-ok``)."""

import sys

from sandbox.ok_server.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
