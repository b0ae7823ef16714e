"""Crash safety: gunicorn serves ballots cast with printed codes while a worker is killed with
SIGKILL in the middle. Afterwards every cast that got its receipt is in the database, and nothing
is half-written: each ballot has its choices and its participation, and nothing else exists."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Participation, Receipt, SealedBallot

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

pytestmark = pytest.mark.skipif(
    not GUNICORN.exists() or shutil.which("pgrep") is None, reason="needs gunicorn and pgrep"
)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vote(base: str, code: str, ballot_url: str, choice: int) -> str:
    """One voter with a letter: enter the code, tick, review, cast. Returns "ok" only when the
    server answered the cast with the receipt page."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    def get(url: str) -> str:
        with opener.open(base + url, timeout=60) as response:
            return response.read().decode()

    def post(url: str, data: dict[str, object], token: str) -> int:
        body = urllib.parse.urlencode({**data, "csrf_token": token}, doseq=True).encode()
        try:
            with opener.open(base + url, body, timeout=60) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    token = CSRF.search(get("/stem")).group(1)  # type: ignore[union-attr]
    status = post("/stem", {"code": code}, token)
    if status != 303:
        return f"code {status}"
    if post(ballot_url, {"p": [choice], "action": "review"}, token) != 303:
        return "review refused"
    status = post(f"{ballot_url}/versturen", {}, token)
    return "ok" if status == 303 else f"cast {status}"


def test_a_killed_worker_loses_no_confirmed_ballot(
    app, app_config, tmp_path, make_wijk, make_user, make_round, make_proposal
):
    wijk = make_wijk("West")
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    rnd = make_round(wijk, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.eligibility = Eligibility.CODES
    proposals = [
        make_proposal(rnd, board, State.ADMITTED, title=f"P{i}", cost=100_000, commit=False)
        for i in range(3)
    ]
    db.session.commit()
    voters = 40
    batch = voting.generate_codes(board, rnd, voters, label="Brieven")
    codes = voting.batch_codes(batch)
    db.session.commit()
    ballot_url = f"/wijk/{wijk.slug}/rondes/{rnd.id}/stemmen"
    choices = [p.id for p in proposals]

    port = free_port()
    env = {
        **os.environ,
        "WIJKBUDGET_DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "WIJKBUDGET_SECRET_KEY": app_config["SECRET_KEY"],  # codes are keyed with it
        "WIJKBUDGET_COOKIE_SECURE": "false",
        "WIJKBUDGET_PUBLIC_URL": "http://127.0.0.1",
        "WIJKBUDGET_CHECKPOINT_PUBLIC_KEY": "ab" * 32,
        "WIJKBUDGET_FINGERPRINT_KEY": "cd" * 32,
        "WIJKBUDGET_UPLOAD_DIR": str(tmp_path / "uploads"),
        "WIJKBUDGET_MAIL_BACKEND": "file",
        "WIJKBUDGET_MAIL_DIR": str(tmp_path / "mail"),
    }
    master = subprocess.Popen(
        [str(GUNICORN), "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "1",
         "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        outcomes: list[str] = []
        lock = threading.Lock()

        def run(start: int) -> None:
            for i in range(start, voters, 4):
                try:
                    result = vote(base, codes[i], ballot_url, choices[i % 3])
                except OSError as error:  # the worker died under this request
                    result = f"connection: {type(error).__name__}"
                with lock:
                    outcomes.append(result)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        killed = 0
        while any(t.is_alive() for t in threads) and killed < 2:
            time.sleep(0.4)
            workers = subprocess.run(
                ["pgrep", "-P", str(master.pid)], capture_output=True, text=True
            ).stdout.split()
            if workers:
                os.kill(int(workers[0]), signal.SIGKILL)
                killed += 1
        deadline = time.monotonic() + 600  # a slow, loaded machine is not a failure
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "the casting clients did not finish"
    finally:
        master.terminate()
        master.wait(timeout=20)

    assert killed >= 1
    succeeded = outcomes.count("ok")
    print(
        f"{succeeded} of {voters} casts answered, {killed} workers killed: {sorted(set(outcomes))}"
    )
    assert len(outcomes) == voters and succeeded > 0, outcomes
    db.session.expire_all()
    ballots = db.session.scalar(select(func.count(SealedBallot.id)))
    participations = db.session.scalar(select(func.count(Participation.id)))
    receipts = db.session.scalar(select(func.count(Receipt.receipt_hash)))
    # every answered cast is stored; a cast cut off by the kill is either all there or not at all
    assert ballots >= succeeded
    assert ballots == participations == receipts
