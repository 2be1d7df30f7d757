"""``python -m sandbox generate``: the command line of the generator."""

from __future__ import annotations

import argparse
import sys
import time

from sandbox.generator import params as params_module
from sandbox.generator.pipeline import NETWORK_WORLDS, generate, generate_worlds
from transforms.months import month_argument


def _formats(value: str) -> list[str]:
    formats = [part.strip() for part in value.split(",") if part.strip()]
    unknown = set(formats) - {"xlsx", "csv"}
    if not formats or unknown:
        raise argparse.ArgumentTypeError(f"formats must be a comma list of xlsx,csv (got {value!r})")
    return formats


def _networks(value: str) -> tuple[str, ...]:
    if value.strip() == "none":
        return ()
    networks = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = set(networks) - set(NETWORK_WORLDS)
    if not networks or unknown:
        raise argparse.ArgumentTypeError(
            f"networks must be a comma list of {','.join(NETWORK_WORLDS)}, or none (got {value!r})"
        )
    return networks


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``generate`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "generate",
        help="generate a deterministic sandbox data set (registry, VK, OK, MAX and Telegram worlds, "
        "incident exports, truth)",
        description="Generate a deterministic sandbox data set; see docs/sandbox-data.md and "
        "docs/networks.md (the OK, MAX and Telegram worlds).",
    )
    parser.add_argument("--preset", choices=sorted(params_module.PRESETS), default="region")
    parser.add_argument(
        "--month", required=True, type=month_argument, help="YYYY-MM, the month of the rating"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--regions", type=int, help="number of regions (national: 66)")
    parser.add_argument("--bodies", type=int, help="rated bodies per region (ОИВ, ОМСУ), default 69")
    parser.add_argument("--pages", type=int, help="official pages in total")
    parser.add_argument("--incidents", type=int, help="incidents a month in total (IM and ПОС)")
    parser.add_argument("--formats", type=_formats, help="export formats, e.g. xlsx,csv or csv")
    parser.add_argument("--start-days-before", type=int, help="days of history before the month (default 14)")
    parser.add_argument(
        "--posts-per-page", type=float, dest="posts_per_page_month", help="posts per page a month"
    )
    parser.add_argument("--comments-per-post", type=float, help="citizens' comments per post on average")
    parser.add_argument("--gzip-level", type=int, help="gzip compression level of the VK files")
    parser.add_argument(
        "--networks",
        type=_networks,
        default=NETWORK_WORLDS,
        help="the worlds written beside VK's, each under OUT/<network>/ as generate-<network> writes it "
        f"(default {','.join(NETWORK_WORLDS)}; none: VK only)",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handler of ``generate``: build the parameters, generate, print a summary."""
    p = params_module.build(
        args.preset,
        args.month,
        args.seed,
        regions=args.regions,
        bodies=args.bodies,
        pages=args.pages,
        incidents=args.incidents,
        formats=args.formats,
        start_days_before=args.start_days_before,
        posts_per_page_month=args.posts_per_page_month,
        comments_per_post=args.comments_per_post,
        gzip_level=args.gzip_level,
    )
    started = time.monotonic()
    manifest = generate(p, args.out)
    worlds = generate_worlds(p, args.out, args.networks)
    counts = manifest["counts"]
    elapsed = time.monotonic() - started
    print(
        f"generated {args.preset} {args.month} seed {args.seed} into {args.out} in {elapsed:.1f} s: "
        f"{counts.get('pages', 0)} pages, {counts.get('posts', 0)} posts, "
        f"{counts.get('comments', 0)} comments, "
        f"{counts.get('incidents_im', 0) + counts.get('incidents_pos', 0)} incidents, "
        f"{counts.get('export_defects', 0)} export defects",
        file=sys.stderr,
    )
    for network, world in worlds.items():
        print(f"  {network}/: {world['counts']}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the generator alone (without the VK server's sub-command)."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.generator.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
