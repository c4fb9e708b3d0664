#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tools/gen_sales.py: a raw daily-sales CSV with realistic dirt, for the local_transform
example pipeline, tests and memory benchmarks. Python 3 standard library only.

    python3 tools/gen_sales.py --rows N --seed S [--date YYYY-MM-DD] [--size-mb M] --out FILE

The folders of FILE are created when missing.

Columns, in this order (header row first, LF line ends, RFC 4180 quoting):
    order_id     integer, increasing from 100001 (a duplicate row repeats an earlier one)
    customer_id  text, C00001..C09999
    product      text; now and then a name with a comma, written in quotes:
                 "Cable, USB-C 2m"
    quantity     integer 1..10; about 0.5% are negative (returns); empty in about 1.5%
    unit_price   decimal with 2 places; empty in about 1.5%
                 (so about 3% of the rows have an empty quantity or unit_price)
    order_date   the --date day (default 2026-01-05), written in one of four formats:
                   70%  2026-01-05            ISO date
                   10%  2026-01-05T14:23:11   ISO date and time
                   10%  05/01/2026            DD/MM/YYYY (day first, always 2 digits)
                   10%  2026/01/05            YYYY/MM/DD
    region       North, South, East or West

About 2% of the rows are exact duplicates of one of the 50 rows before them.

The same --seed (and options) always gives the same file. --size-mb M ignores --rows and
writes rows until the file holds at least M MiB (for memory tests on large inputs).

The four date formats normalise to ISO dates in SQLite with:

    date(CASE
           WHEN order_date LIKE '__/__/____'
             THEN substr(order_date, 7, 4) || '-' || substr(order_date, 4, 2) || '-' ||
                  substr(order_date, 1, 2)
           WHEN order_date LIKE '____/__/__' THEN replace(order_date, '/', '-')
           ELSE order_date
         END)

(date() also drops the time of day; anything unparseable becomes NULL.)
"""

import argparse
import datetime
import os
import random
import sys

PRODUCTS = [
    ("Laptop Stand", 34.99),
    ("Wireless Mouse", 19.99),
    ("Mechanical Keyboard", 89.50),
    ("USB-C Hub", 45.00),
    ("Monitor 27in", 279.00),
    ("Webcam HD", 59.90),
    ("Desk Lamp", 24.75),
    ("Noise Cancelling Headphones", 199.00),
    ("Office Chair", 249.99),
    ("Notebook A5", 3.49),
    ("Pen Set", 7.25),
    ("Phone Charger", 15.99),
]
# Names with a comma: the CSV writer must quote them.
COMMA_PRODUCTS = [
    ("Cable, USB-C 2m", 9.99),
    ("Paper, A4 500 sheets", 5.49),
    ("Markers, assorted 12", 11.20),
]
REGIONS = ["North", "South", "East", "West"]


def format_date(day, rnd):
    r = rnd.random()
    if r < 0.70:
        return day.strftime("%Y-%m-%d")
    if r < 0.80:
        return "%sT%02d:%02d:%02d" % (
            day.strftime("%Y-%m-%d"),
            rnd.randrange(24),
            rnd.randrange(60),
            rnd.randrange(60),
        )
    if r < 0.90:
        return day.strftime("%d/%m/%Y")
    return day.strftime("%Y/%m/%d")


def make_row(order_id, day, rnd):
    if rnd.random() < 0.04:
        name, base = rnd.choice(COMMA_PRODUCTS)
        product = '"%s"' % name  # no quotes inside names, so no "" escaping is needed
    else:
        name, base = rnd.choice(PRODUCTS)
        product = name
    quantity = str(rnd.randint(1, 10))
    if rnd.random() < 0.005:
        quantity = "-" + quantity  # a return
    price = "%.2f" % (base * rnd.uniform(0.9, 1.1))
    dirt = rnd.random()
    if dirt < 0.015:
        quantity = ""
    elif dirt < 0.03:
        price = ""
    return "%d,C%05d,%s,%s,%s,%s,%s\n" % (
        order_id,
        rnd.randint(1, 9999),
        product,
        quantity,
        price,
        format_date(day, rnd),
        rnd.choice(REGIONS),
    )


def main(argv):
    ap = argparse.ArgumentParser(description="Generate a raw daily-sales CSV with dirt.")
    ap.add_argument("--rows", type=int, default=1000, help="rows to write (default 1000)")
    ap.add_argument("--seed", type=int, required=True, help="random seed")
    ap.add_argument("--date", default="2026-01-05", help="the sales day, YYYY-MM-DD")
    ap.add_argument("--size-mb", type=float, help="write rows until the file is this big")
    ap.add_argument("--out", required=True, help="output file ('-' for stdout)")
    args = ap.parse_args(argv)
    try:
        day = datetime.date.fromisoformat(args.date)
    except ValueError:
        ap.error("--date must be YYYY-MM-DD")
    if args.rows < 0:
        ap.error("--rows must be >= 0")
    limit_bytes = int(args.size_mb * 1024 * 1024) if args.size_mb is not None else None

    rnd = random.Random(args.seed)
    recent = []  # the last 50 rows, for duplicates
    if args.out != "-" and os.path.dirname(args.out):
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8", newline="")
    try:
        header = "order_id,customer_id,product,quantity,unit_price,order_date,region\n"
        out.write(header)
        size = len(header)
        written = 0
        order_id = 100000
        chunk = []
        while True:
            if limit_bytes is not None:
                if size >= limit_bytes:
                    break
            elif written >= args.rows:
                break
            if recent and rnd.random() < 0.02:
                line = rnd.choice(recent)
            else:
                order_id += 1
                line = make_row(order_id, day, rnd)
                recent.append(line)
                if len(recent) > 50:
                    recent.pop(0)
            chunk.append(line)
            size += len(line)  # ASCII only, so characters are bytes
            written += 1
            if len(chunk) >= 10000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
