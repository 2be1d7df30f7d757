"""Command line of the sandbox: ``python -m sandbox {generate,generate-ok,generate-max,generate-tg,serve-vk,
serve-ok,serve-max,demo} ...``."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    """Assemble the sub-commands contributed by the sandbox modules."""
    from sandbox.demo import register as register_demo
    from sandbox.generator.cli import register as register_generate
    from sandbox.generator.max_pages import register as register_generate_max
    from sandbox.generator.ok_pages import register as register_generate_ok
    from sandbox.generator.tg_pages import register as register_generate_tg
    from sandbox.max_server.cli import register as register_serve_max
    from sandbox.ok_server.cli import register as register_serve_ok
    from sandbox.vk_server.cli import register as register_serve_vk

    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    register_generate(commands)
    register_generate_ok(commands)
    register_generate_max(commands)
    register_generate_tg(commands)
    register_serve_vk(commands)
    register_serve_ok(commands)
    register_serve_max(commands)
    register_demo(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
