"""``python -m sandbox.vk_server --data DIR ...`` (same options as ``python -m sandbox serve-vk``)."""

import sys

from sandbox.vk_server.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
