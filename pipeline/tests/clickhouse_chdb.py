"""Runs brandpulse's ClickHouse DDL, views and the analyst guide's example queries on current
ClickHouse (chdb, in process), over a replay's Parquet output.

usage: clickhouse_chdb.py MIGRATION_SQL GUIDE_MD PARQUET_OUT INPUT_DIR RESULT_DIR

Loads every Parquet table into its ClickHouse table (version 1 << 63: final rows), the ads
dimension from INPUT_DIR/ads.ndjson (later lines win), then writes RESULT_DIR/<view>.jsonl for
the views and RESULT_DIR/guide-<n>.jsonl for each ```sql block of the guide. Prints the server
version. Any failing statement raises (non-zero exit).
"""
import os
import re
import sys

import chdb
from chdb import session

migration, guide, parquet_out, input_dir, result_dir = sys.argv[1:6]
os.makedirs(result_dir, exist_ok=True)
s = session.Session()


def statements(sql):
    out, cur = [], []
    for line in sql.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("--")):
            continue
        cur.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(cur).rstrip().rstrip(";"))
            cur = []
    return out


def q(sql, fmt="CSV"):
    return s.query(sql, fmt)


print("ClickHouse", str(q("SELECT version()")).strip())
q("CREATE DATABASE IF NOT EXISTS bp ENGINE = Atomic")
q("USE bp")
for stmt in statements(open(migration).read()):
    q(stmt)

FINAL = 1 << 63
for table in ["brand_metrics_minute", "ad_metrics_minute", "care_cases", "alerts", "dead_letter", "brand_status"]:
    files = os.path.join(parquet_out, table, "*", "*.parquet")
    if not any(os.scandir(os.path.join(parquet_out, table))) if os.path.isdir(os.path.join(parquet_out, table)) else True:
        continue
    cols = [r.split(",")[0].strip('"') for r in str(q(f"SELECT name FROM system.columns WHERE database = 'bp' AND table = '{table}' ORDER BY position")).split()]
    select = ", ".join(f"toUInt64({FINAL})" if c == "version" else f"`{c}`" for c in cols)
    q(f"INSERT INTO {table} ({', '.join('`%s`' % c for c in cols)}) SELECT {select} FROM file('{files}', Parquet)")

ads = os.path.join(input_dir, "ads.ndjson")
q(
    "INSERT INTO ads SELECT ad_id, brand_id, campaign_id, platform, account_id, spend_per_hour, 0, rowNumberInAllBlocks() "
    f"FROM file('{ads}', JSONEachRow, 'ad_id String, brand_id String, campaign_id Nullable(String), platform Nullable(String), "
    "account_id Nullable(String), spend_per_hour Nullable(Float64)') SETTINGS input_format_skip_unknown_fields = 1"
)

SETTINGS = " SETTINGS output_format_json_quote_64bit_integers = 0, output_format_json_quote_denormals = 1"
for view in [
    "brand_metrics_minute_current", "ad_metrics_minute_current", "care_cases_current", "alerts_current",
    "brand_status_current", "ads_current", "dead_letter_current", "brand_metrics_hourly", "brand_metrics_daily", "value_realization_daily",
]:
    cols = "topic, source, partition, offset, reason, detail, hex(raw) AS raw, recorded_at" if view == "dead_letter_current" else "*"
    rows = str(q(f"SELECT {cols} FROM {view}{SETTINGS}", "JSONEachRow"))
    open(os.path.join(result_dir, f"{view}.jsonl"), "w").write(rows)

blocks = re.findall(r"```sql\n(.*?)```", open(guide).read(), re.S)
for i, sql in enumerate(blocks):
    rows = str(q(sql.strip().rstrip(";") + SETTINGS, "JSONEachRow"))
    open(os.path.join(result_dir, f"guide-{i}.jsonl"), "w").write(rows)
print(len(blocks), "guide queries ok")
