"""`paxcast actuals load FILE [--store URL]`: bulk-load observed values into the store, in one transaction.

SQLAlchemy is imported inside the command: the other commands start without it.
"""

from __future__ import annotations

import argparse
import time

from paxcast.service.core.exceptions import StoreUnavailable
from paxcast.service.core.settings import load_settings


def add_actuals_parser(commands) -> None:
    actuals = commands.add_parser("actuals", help="load observed values into the store (PAXCAST_STORE)")
    actions = actuals.add_subparsers(dest="action", required=True)
    load = actions.add_parser(
        "load",
        help="insert or replace the rows of a unique_id,ds,y file (.csv or .csv.gz) in one transaction",
        description="A row whose (unique_id, ds) is stored already replaces its value. A bad row (the CSV "
        "reader's rules) stops the load with one line naming the file, line and rule; nothing is written.",
    )
    load.add_argument("file", help="long-format CSV (unique_id,ds,y), plain or gzip")
    load.add_argument("--store", help="database URL (default: PAXCAST_STORE, else the registry's SQLite file)")
    load.set_defaults(func=cmd_actuals_load)
    actuals.allow_abbrev = load.allow_abbrev = False


def cmd_actuals_load(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from paxcast.service.store.actuals import write_actual_batches
    from paxcast.service.store.actuals_file import ActualsFile
    from paxcast.service.store.engine import open_store, reason

    url, setting = (args.store, "--store") if args.store else (load_settings().store_url(), "PAXCAST_STORE")
    engine = open_store(url, setting)
    rows = ActualsFile(args.file)
    try:
        started = time.perf_counter()
        try:
            written = write_actual_batches(engine, rows)  # read and written in one pass, one transaction
        except DBAPIError as exc:
            shown = make_url(url).render_as_string(hide_password=True)
            raise StoreUnavailable(f"{setting}={shown}: cannot write ({reason(exc)}); nothing was written") from None
        took = time.perf_counter() - started
    finally:
        engine.dispose()
    print(
        f"{args.file}: {rows.rows} rows, {written.new} new, {written.replaced} replaced "
        f"(read and written in {took:.1f} s: {rows.rows / took:,.0f} rows/s)"
    )
    return 0
