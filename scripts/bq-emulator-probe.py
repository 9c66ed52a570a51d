#!/usr/bin/env python3
"""Smoke test of the local BigQuery emulator: the behaviours the BigQuery store relies on.

    eval "$(bash scripts/bigquery-emulator.sh start)"
    python3 scripts/bq-emulator-probe.py      # reads BQ_EMULATOR_REST, BQ_EMULATOR_PROJECT

Standard library only; talks to 127.0.0.1 only (it refuses any other REST address).
Each run uses a fresh dataset, so it can run against a shared emulator. A changed
emulator version that breaks one of these facts shows up here first, not deep in a
Rust integration test. docs/emulators.md has the full measurements.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REST = os.environ.get("BQ_EMULATOR_REST", "")
PROJECT = os.environ.get("BQ_EMULATOR_PROJECT", "test-proj")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# An inherited http_proxy must never carry this traffic off the machine.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
RESULTS = []


def call(method, path, body=None):
    url = f"{REST}/bigquery/v2/projects/{PROJECT}{path}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with OPENER.open(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def check(name, ok, detail=""):
    RESULTS.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"), flush=True)


def param(name, typ, value):
    return {"name": name, "parameterType": {"type": typ}, "parameterValue": {"value": value}}


def query(sql, params=(), **extra):
    body = {
        "query": sql,
        "useLegacySql": False,
        "formatOptions": {"useInt64Timestamp": True},
    }
    if params:
        body["parameterMode"] = "NAMED"
        body["queryParameters"] = list(params)
    body.update(extra)
    return call("POST", "/queries", body)


def values(resp):
    return [[cell["v"] for cell in row["f"]] for row in resp.get("rows", [])]


def main():
    host = urllib.parse.urlsplit(REST).hostname
    if host != "127.0.0.1":
        sys.exit(f"BQ_EMULATOR_REST must be http://127.0.0.1:PORT, got {REST!r}")
    ds = f"probe_{os.getpid()}_{int(time.time())}"
    t = f"{ds}.example_table"
    tpath = f"/datasets/{ds}/tables/example_table"

    ref = {"projectId": PROJECT, "datasetId": ds}
    code, _ = call("POST", "/datasets", {"datasetReference": ref})
    check("dataset created", code == 200, code)
    code, body = call("POST", "/datasets", {"datasetReference": ref})
    check("dataset re-create is 409 ALREADY_EXISTS",
          code == 409 and body["error"]["status"] == "ALREADY_EXISTS", (code, body))

    fields = []
    for name in ("metadata.json", "example_table.json"):
        with open(os.path.join(ROOT, "schemas", name), encoding="utf-8") as f:
            fields += json.load(f)
    code, body = call("POST", f"/datasets/{ds}/tables", {
        "tableReference": {**ref, "tableId": "example_table"},
        "schema": {"fields": fields},
        "timePartitioning": {"type": "DAY", "field": "ingested_at"},
    })
    check("table created from metadata.json + example_table.json", code == 200, (code, body))

    def row(i, ingested, **over):
        r = {"message_id": f"m{i:02d}", "publish_time": "2026-12-04T10:00:00.123456Z",
             "attributes": {"k": str(i)}, "ingested_at": ingested, "id": i, "name": "n"}
        r.update(over)
        return {"insertId": f"i{i}", "json": r}

    # 9 rows, timestamps shared in groups of 3 so keyset ties are exercised.
    rows = [row(i, f"2026-12-04T11:00:0{i // 3}Z") for i in range(9)]
    code, body = call("POST", tpath + "/insertAll", {"rows": rows})
    check("insertAll stores a batch", code == 200 and "insertErrors" not in body, body)
    call("POST", tpath + "/insertAll", {"rows": rows[:3]})
    _, resp = query(f"SELECT count(*) FROM {t}")
    check("insertAll re-sent insertIds are dropped", values(resp) == [["9"]], values(resp))

    bad = [row(20, "2026-12-04T12:00:00Z"), row(21, "2026-12-04T12:00:00Z", id="abc"),
           row(22, "2026-12-04T12:00:00Z", publish_time=None)]
    code, body = call("POST", tpath + "/insertAll", {"rows": bad})
    reasons = {e["index"]: e["errors"][0]["reason"] for e in body.get("insertErrors", [])}
    check("row errors stop the whole batch", code == 200
          and reasons == {0: "stopped", 1: "invalid", 2: "invalid"}, body)
    _, resp = query(f"SELECT count(*) FROM {t} WHERE id >= 20")
    check("a stopped batch stores nothing", values(resp) == [["0"]], values(resp))
    call("POST", tpath + "/insertAll", {"rows": bad, "skipInvalidRows": True})
    _, resp = query(f"SELECT id FROM {t} WHERE id >= 20")
    check("skipInvalidRows stores the valid rows", values(resp) == [["20"]], values(resp))

    code, resp = query(
        "SELECT @i AS i, @s AS s, @t AS t, @dt AS dt, @n AS n",
        [param("i", "INT64", "9007199254740993"), param("s", "STRING", "it's"),
         param("t", "TIMESTAMP", "2026-12-04T10:00:00.123456Z"),
         param("dt", "DATETIME", "2026-12-04T10:00:00.123456"),
         param("n", "NUMERIC", "12345678901234567890123456789.123456789")])
    want = [["9007199254740993", "it's", "1796378400123456", "2026-12-04T10:00:00.123456",
             "12345678901234567890123456789.123456789"]]
    check("named parameters round-trip (useInt64Timestamp)", values(resp) == want,
          values(resp) if code == 200 else resp)

    # A later copy of m01 under another insertId: QUALIFY must keep the earliest.
    call("POST", tpath + "/insertAll",
         {"rows": [dict(row(1, "2026-12-04T11:00:09Z"), insertId="dup-1")]})
    _, resp = query(
        f"SELECT message_id, ingested_at FROM {t} WHERE id < 20 QUALIFY ROW_NUMBER() "
        "OVER (PARTITION BY message_id ORDER BY ingested_at) = 1 ORDER BY message_id")
    got = values(resp)
    check("QUALIFY ROW_NUMBER() keeps one row per message_id",
          len(got) == 9 and got[1] == ["m01", "1796382000000000"], got)

    # Keyset walk, 4 rows a page, newest first; must see every row exactly once.
    sql = (f"SELECT message_id, ingested_at FROM {t} WHERE id < 20 AND "
           "((ingested_at < TIMESTAMP_MICROS(@t)) OR "
           "(ingested_at = TIMESTAMP_MICROS(@t) AND message_id < @id)) "
           "ORDER BY ingested_at DESC, message_id DESC LIMIT 4")
    seen, cursor = [], ("9999999999999999", "~")
    for _ in range(10):
        _, resp = query(sql, [param("t", "INT64", cursor[0]), param("id", "STRING", cursor[1])])
        page = values(resp)
        if not page:
            break
        seen += page
        cursor = (page[-1][1], page[-1][0])
    ordered = sorted(seen, key=lambda r: (int(r[1]), r[0]), reverse=True)
    check("keyset pagination sees every row once, in order",
          len(seen) == 10 and seen == ordered and len({tuple(r) for r in seen}) == 10, seen)

    code, resp = query(f"SELECT id FROM {t} WHERE id < 20 ORDER BY id", maxResults=4)
    ids, job, token = values(resp), resp["jobReference"]["jobId"], resp.get("pageToken")
    for _ in range(10):
        if not token:
            break
        _, resp = call("GET", f"/queries/{job}?maxResults=4&pageToken={token}")
        ids += values(resp)
        token = resp.get("pageToken")
    check("maxResults + getQueryResults pageToken pages through all rows",
          [i[0] for i in ids] == ["0", "1", "1", "2", "3", "4", "5", "6", "7", "8"], ids)

    _, resp = query(f"SELECT attributes FROM {t} WHERE id = 2")
    check("JSON column comes back as JSON text",
          values(resp) and json.loads(values(resp)[0][0]) == {"k": "2"}, values(resp))

    passed, failed = RESULTS.count(True), RESULTS.count(False)
    print(f"probe: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
