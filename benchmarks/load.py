"""Load on the public pages and on casting a ballot, against a database made by ``seed.py``.

    .venv/bin/python benchmarks/load.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/bench]
        [--seconds 20] [--users 50] [--plan /tmp/wijkbudget-bench-<db>.json]

Starts gunicorn (2 × cores sync workers) on a free port with the seed's secret key and the page
cache in Redis (``--page-cache memory|off`` to compare), drives each GET page with wrk
(``apt-get install -y wrk``; one thread per connection, no cookies: visitors without a session)
and the cast flow (GET /stem, POST the code, POST the ballot with action=review, POST
…/versturen, each voter a fresh code) with wrk and a Lua script that keeps each connection's
cookie and form token. Prints requests/s, p50/p95/p99 latency, errors and the ratio to /healthz
for each, then checks that the round has exactly one participation per ballot. It asserts
nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
UPTIME = shutil.which("uptime") or "/usr/bin/uptime"
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
  if cast_summary then cast_summary() end
end
"""
# The cast flow of a voter with a letter, per wrk thread (one connection each): GET /stem for a
# form token, POST the code, POST the ballot (review), POST …/versturen; then the next code.
CAST_LUA = """
local threads = {}
local counter = 0
setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

init = function(args)
  local n = tonumber(os.getenv("CAST_THREADS"))
  codes, proposals, i = {}, {}, 0
  for line in io.lines(os.getenv("CAST_CODES")) do
    if i % n == id then table.insert(codes, line) end
    i = i + 1
  end
  for p in string.gmatch(os.getenv("CAST_PROPOSALS"), "%d+") do table.insert(proposals, p) end
  ballot = os.getenv("CAST_BALLOT")
  math.randomseed(id + 1)
  next_code, step, cookie, token, ok, failed = 1, 0, nil, "", 0, 0
end

request = function()
  if step == 0 then
    cookie = nil
    return wrk.format("GET", "/stem")
  end
  local headers = {["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded"}
  if step == 1 then
    local code = codes[next_code] or "AAAA-AAAA-AAAA"
    next_code = next_code + 1
    return wrk.format("POST", "/stem", headers, "code=" .. code .. "&csrf_token=" .. token)
  elseif step == 2 then
    local body = "action=review&csrf_token=" .. token
    for k = 1, math.random(1, 3) do body = body .. "&p=" .. proposals[math.random(#proposals)] end
    return wrk.format("POST", ballot, headers, body)
  end
  return wrk.format("POST", ballot .. "/versturen", headers, "csrf_token=" .. token)
end

response = function(status, headers, body)
  local set = headers["Set-Cookie"]
  if set then cookie = string.match(set, "^([^;]+)") end
  if step == 0 then
    token = string.match(body, 'name="csrf_token" value="([^"]+)"')
    if status == 200 and token then step = 1 else failed, step = failed + 1, 0 end
  elseif status == 303 then
    if step == 3 then ok, step = ok + 1, 0 else step = step + 1 end
  else
    failed, step = failed + 1, 0
  end
end

cast_summary = function()
  local good, bad = 0, 0
  for _, t in ipairs(threads) do
    good, bad = good + t:get("ok"), bad + t:get("failed")
  end
  io.write(string.format("CASTS %d %d\\n", good, bad))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One visitor: a keep-alive connection (reopened when the server closes it) and cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, form: dict | None = None) -> tuple[int, str]:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.conn.request(method, url, body=body, headers=headers)
                response = self.conn.getresponse()
                break
            except (http.client.HTTPException, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        data = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, data


def run_wrk(
    url: str, users: int, seconds: int, cookie: str | None, lua: str = "", env: dict | None = None
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua + WRK_SCRIPT)
    wrk = shutil.which("wrk") or "wrk"
    # one wrk thread per connection: the same shape for every row, and the cast flow (whose Lua
    # state is per thread) needs it
    cmd = [wrk, "-t", str(users), "-c", str(users), "-d", f"{seconds}s", "--timeout", "10s",
           "-s", script.name]  # fmt: skip
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(  # noqa: S603 (our own argv)
        [*cmd, url], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    ).stdout
    os.unlink(script.name)
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    n, duration, p50, p95, p99, *errors = (int(f) for f in fields)
    casts = next((line.split()[1:] for line in out.splitlines() if line.startswith("CASTS")), None)
    return {
        "casts": [int(c) for c in casts] if casts else None,
        "rps": n / (duration / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "errors": sum(errors),
        "requests": n,
    }


def main() -> None:  # noqa: C901, PLR0915 (one straight script)
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--plan", default="")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--only", default="", help="a regular expression: only these rows")
    parser.add_argument(
        "--page-cache",
        default="redis://127.0.0.1:6379/14",
        help="where the page cache lives: a redis:// URL, 'memory' (each worker) or 'off'",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    plan_file = Path(args.plan or f"/tmp/wijkbudget-bench-{make_url(args.database).database}.json")  # noqa: S108
    plan = json.loads(plan_file.read_text())
    slug, rid = plan["wijk_slug"], plan["voting_round"]
    ballot_url = f"/wijk/{slug}/rondes/{rid}/stemmen"

    def take_codes(n: int) -> list[str]:
        start = plan["next_code"]
        if start + n > len(plan["codes"]):
            sys.exit(f"only {len(plan['codes']) - start} fresh codes left: seed again")
        plan["next_code"] = start + n
        plan_file.write_text(json.dumps(plan, indent=1))
        return plan["codes"][start : start + n]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "WIJKBUDGET_DATABASE_URL": args.database,
        "WIJKBUDGET_SECRET_KEY": plan["secret_key"],
        "WIJKBUDGET_COOKIE_SECURE": "false",
        # what production requires (config.py); the benchmark's own values
        "WIJKBUDGET_PUBLIC_URL": base,
        "WIJKBUDGET_CHECKPOINT_PUBLIC_KEY": "ab" * 32,
        "WIJKBUDGET_FINGERPRINT_KEY": "cd" * 32,
        "WIJKBUDGET_RATELIMIT_ENABLED": "false",
        "WIJKBUDGET_LOG_LEVEL": "WARNING",
        "WIJKBUDGET_PAGE_CACHE_SECONDS": "0" if args.page_cache == "off" else "10",
        "WIJKBUDGET_PAGE_CACHE_URL": ""
        if args.page_cache in ("off", "memory")
        else args.page_cache,
    }
    log = open(tempfile.mktemp(prefix="wijkbudget-gunicorn-", suffix=".log"), "w")  # noqa: SIM115, S306
    master = subprocess.Popen(  # noqa: S603 (our own argv)
        [str(GUNICORN), "-w", str(args.workers), "--threads", str(args.threads),
         "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    engine = create_engine(args.database)
    rows: list[tuple[str, dict]] = []
    try:
        for _ in range(150):
            try:
                if Client(port).request("GET", "/healthz")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
        # a visitor who entered a code (never cast): the ballot page needs one
        viewer = Client(port)
        token = CSRF.search(viewer.request("GET", "/stem")[1]).group(1)  # type: ignore[union-attr]
        status, _ = viewer.request("POST", "/stem", {"code": take_codes(1)[0], "csrf_token": token})
        assert status == 303, f"code refused: {status}"
        cookie = "; ".join(f"{k}={v}" for k, v in viewer.cookies.items())

        pages = [
            ("/healthz (ceiling)", "/healthz", None),
            ("proposal list ?category", f"/wijk/{slug}/rondes/{rid}/voorstellen"
             f"?category={plan['voting_category']}", None),
            ("proposal list ?q", f"/wijk/{slug}/rondes/{rid}/voorstellen?q={plan['search_word']}",
             None),
            ("proposal page", f"/voorstellen/{plan['busiest_proposal']}", None),
            (f"thread busiest ({plan['busiest_thread_comments']})",
             f"/gesprekken/{plan['busiest_thread']}", None),
            (f"thread median ({plan['median_thread_comments']})",
             f"/gesprekken/{plan['median_thread']}", None),
            ("ballot page (code session)", ballot_url, cookie),
            ("result page", f"/wijk/{slug}/rondes/{plan['closed_round']}/uitslag", None),
            ("ledger page", f"/wijk/{slug}/geld/grootboek", None),
        ]  # fmt: skip
        uptime_before = subprocess.run([UPTIME], capture_output=True, text=True).stdout.strip()  # noqa: S603
        for name, url, page_cookie in pages:
            if args.only and not re.search(args.only, name) and url != "/healthz":
                continue
            check = Client(port)
            if page_cookie:
                check.cookies = dict(viewer.cookies)
            status, body = check.request("GET", url)
            if status != 200:
                print(f"! {name}: {url} answers {status}", flush=True)
            rows.append((name, {**run_wrk(base + url, args.users, args.seconds, page_cookie),
                                "url": url, "bytes": len(body)}))  # fmt: skip
            print(f"  done {name}", flush=True)

        # --- casting: fresh codes, `users` voters at once ---------------------------------------
        with engine.connect() as conn:
            before = conn.execute(
                text("SELECT (SELECT count(*) FROM ballot WHERE round_id = :r), "
                     "(SELECT count(*) FROM participation WHERE round_id = :r)"), {"r": rid}
            ).one()  # fmt: skip
        codes = take_codes(min(len(plan["codes"]) - plan["next_code"], 150 * args.seconds))
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as code_file:
            code_file.write("\n".join(codes) + "\n")
        cast = run_wrk(
            base + "/stem", args.users, args.seconds, None, CAST_LUA,
            {"CAST_THREADS": str(args.users), "CAST_CODES": code_file.name,
             "CAST_BALLOT": ballot_url,
             "CAST_PROPOSALS": ",".join(str(p) for p in plan["voting_proposals"])},
        )  # fmt: skip
        os.unlink(code_file.name)
        outcome = {"ok": cast["casts"][0], "errors": cast["casts"][1]}
        elapsed = float(args.seconds)
        uptime_after = subprocess.run([UPTIME], capture_output=True, text=True).stdout.strip()  # noqa: S603
        rows.append(
            ("cast: all 4 requests", {**cast, "errors": cast["errors"] + outcome["errors"]})
        )
        rows.append(("cast: whole flows (casts/s)", {
            **cast, "rps": outcome["ok"] / elapsed, "requests": outcome["ok"],
            "errors": outcome["errors"]}))  # fmt: skip
    finally:
        master.terminate()
        master.wait(timeout=30)
        log.close()

    with engine.connect() as conn:
        after = conn.execute(
            text("SELECT (SELECT count(*) FROM ballot WHERE round_id = :r), "
                 "(SELECT count(*) FROM participation WHERE round_id = :r), "
                 "(SELECT count(*) FROM voting_code WHERE round_id = :r AND used), "
                 "(SELECT count(*) FROM participation "
                 " WHERE round_id = :r AND code_id IS NOT NULL), "
                 "(SELECT count(*) FROM (SELECT code_id FROM participation WHERE round_id = :r "
                 " AND code_id IS NOT NULL GROUP BY code_id HAVING count(*) > 1) d)"),
            {"r": rid},
        ).one()  # fmt: skip
    engine.dispose()

    ceiling = rows[0][1]["rps"]
    print()
    print(
        f"database  {make_url(args.database).render_as_string(hide_password=True)}  "
        f"(scale {plan['scale']})"
    )
    print(
        f"server    gunicorn -w {args.workers} (sync), {os.cpu_count()} cores; "
        f"{args.users} concurrent users, {args.seconds} s per endpoint"
    )
    print(f"load      before: {uptime_before}")
    print(f"          after:  {uptime_after}")
    print()
    print(f"page cache: {args.page_cache}")
    print(f"{'endpoint':<30} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'errors':>7} {'× ceil':>7} {'requests':>9}")  # fmt: skip
    for name, r in rows:
        print(f"{name:<30} {r['rps']:8.1f} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} "
              f"{r['errors']:7d} {r['rps'] / ceiling:7.1%} {r['requests']:9d}")  # fmt: skip
    new_ballots, new_parts = after[0] - before[0], after[1] - before[1]
    print()
    print(f"cast      {outcome['ok']} receipts in {elapsed:.1f} s; new ballots {new_ballots}, "
          f"new participations {new_parts}")  # fmt: skip
    print(f"invariant round {rid}: ballots {after[0]:,} == participations {after[1]:,}: "
          f"{'yes' if after[0] == after[1] else 'NO'}; used codes {after[2]:,} == code "
          f"participations {after[3]:,}: {'yes' if after[2] == after[3] else 'NO'}; "
          f"codes with two participations: {after[4]}")  # fmt: skip


if __name__ == "__main__":
    main()
