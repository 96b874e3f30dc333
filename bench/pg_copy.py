"""Loading check results into PostgreSQL: our binary COPY encoder against the libraries' own.

    .venv/bin/python bench/pg_copy.py [--rows 2000000] [--runs 3] [--people 150000]
        [--only pg_binary|psycopg_rows|adbc]

The rows are real check results: the synthetic caseload (seed 1, as of 2025-03-14) evaluated by
the clock engine, with `run_id` in front as `db/results.py` writes them (repeated if the caseload
gives fewer than `--rows`). Each way loads the same polars frame into a fresh table with
`check_results`' definition, in a fresh schema of the PostgreSQL at EHCP_BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/test; dropped afterwards), one transaction a load:

- `pg_binary`: what the product does (`db.bulk.write_frame`: `db/pg_binary.py` encodes 100,000
  rows at a time with numpy into psycopg's queued `COPY ... (FORMAT BINARY)` writer);
- `psycopg_rows`: psycopg 3's own binary copy, `copy.set_types(...)` and `write_row` per row from
  `iter_rows()` (psycopg encodes each value; its C extension when installed);
- `adbc`: ADBC's PostgreSQL driver, `cursor.adbc_ingest(table, frame, mode="append")` from the
  polars frame's Arrow data (the driver also sends binary COPY). Needs `adbc-driver-postgresql`,
  which is not a dependency of the project: `.venv/bin/pip install adbc-driver-postgresql`.

The ways take turns, `--runs` times; prints each load's seconds, rows/s and this process's CPU
seconds (the client's encoding; the server's insert runs beside it on the same cores), a
fingerprint of each loaded table (the sum of a hash of every row: the ways must agree), and the
medians. Asserts nothing; the figures go in bench/README.md.
"""

import argparse
import os
import time
from datetime import date

import polars as pl
from _pg import DEFAULT_PG, new_schema_name, scratch_schema
from sqlalchemy import create_engine, text

from ehcp_monitor import config
from ehcp_monitor.checks import clock_engine
from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.synthetic import generate

AS_OF = date(2025, 3, 14)
# check_results as the models define it (db/models.py), without its run_id being a key.
DDL = """CREATE TABLE "{table}" (
    run_id integer NOT NULL, measure varchar(20) NOT NULL, request_id varchar(64), plan_id varchar(64),
    person_id varchar(64), item varchar(30), anchor_date date, due_date date NOT NULL, completed_date date,
    status varchar(10) NOT NULL, days_late integer, exception boolean NOT NULL, very_late boolean NOT NULL,
    stage varchar(30), kind varchar(10) NOT NULL, basis varchar(40) NOT NULL)"""
PG_TYPES = ["int4", "varchar", "varchar", "varchar", "varchar", "varchar", "date", "date", "date", "varchar",
            "int4", "bool", "bool", "varchar", "varchar", "varchar"]


def result_rows(rows: int, people: int) -> pl.DataFrame:
    frames = generate(people, seed=1, as_of=AS_OF)
    results = clock_engine.evaluate(Snapshot.from_frames(frames), config.defaults(), AS_OF)
    del frames
    repeats = -(-rows // results.height)
    frame = pl.concat([results] * repeats).head(rows) if repeats > 1 else results.head(rows)
    return frame.select(pl.lit(7, dtype=pl.Int32).alias("run_id"), pl.all()).with_columns(
        pl.col("days_late").cast(pl.Int32))


def load_pg_binary(engine, table: str, df: pl.DataFrame) -> None:
    with engine.begin() as conn:
        write_frame(conn, table, df)


def load_psycopg_rows(engine, table: str, df: pl.DataFrame) -> None:
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        columns = ", ".join(f'"{c}"' for c in df.columns)
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN (FORMAT BINARY)') as copy:
                copy.set_types(PG_TYPES)
                for row in df.iter_rows():
                    copy.write_row(row)


def load_adbc(url: str, schema: str, table: str, df: pl.DataFrame) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(url) as conn:
        with conn.cursor() as cursor:
            cursor.adbc_ingest(table, df, mode="append", db_schema_name=schema)
        conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--people", type=int, default=150_000, help="people evaluated to make the rows")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", choices=["pg_binary", "psycopg_rows", "adbc"])
    args = parser.parse_args()
    ways = args.only or ["pg_binary", "psycopg_rows", "adbc"]

    started = time.perf_counter()
    df = result_rows(args.rows, args.people)
    print(f"{df.height:,} result rows ({df.estimated_size() / 2**20:,.0f} MiB in polars) built in "
          f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs", flush=True)

    base = os.environ.get("EHCP_BENCH_DATABASE_URL", DEFAULT_PG)
    schema = new_schema_name()
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    cpus: dict[str, list[float]] = {way: [] for way in ways}
    with scratch_schema(base, schema=schema) as url:
        engine = create_engine(url)
        try:
            for run in range(args.runs):
                for way in ways:
                    table = f"results_{way}_{run}"
                    with engine.begin() as conn:
                        conn.execute(text(DDL.format(table=table)))
                    start, cpu_start = time.perf_counter(), time.process_time()
                    if way == "pg_binary":
                        load_pg_binary(engine, table, df)
                    elif way == "psycopg_rows":
                        load_psycopg_rows(engine, table, df)
                    else:
                        load_adbc(base, schema, table, df)
                    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
                    with engine.connect() as conn:
                        # Every value of every row, in any order: the ways must load the same rows.
                        loaded, fingerprint = conn.execute(text(
                            f'SELECT count(*), sum(hashtext(t::text)::bigint) FROM "{table}" t')).one()
                        conn.execute(text(f'DROP TABLE "{table}"'))
                        conn.commit()
                    seconds[way].append(elapsed)
                    cpus[way].append(cpu)
                    print(f"  run {run + 1}: {way:<13} {elapsed:6.2f} s  {df.height / elapsed:>11,.0f} rows/s"
                          f"  client CPU {cpu:5.2f} s  ({loaded:,} rows, fingerprint {fingerprint})", flush=True)
        finally:
            engine.dispose()
    for way, values in seconds.items():
        mid = sorted(values)[len(values) // 2]
        cpu = sorted(cpus[way])[len(values) // 2]
        print(f"{way:<13} median {mid:6.2f} s  {df.height / mid:>11,.0f} rows/s  client CPU {cpu:5.2f} s  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
