"""Issue 21, van deur tot deur: codes next to accounts (one vote per person, by either), the code
page opened from a letter's QR address (the code in no log, no cache, no Referer), the voting
places with their walk-in desks, and the pages that point residents to their code."""

from __future__ import annotations

import io
import logging
import re
import threading
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.concurrency import assert_no_server_errors, postgres_only, race, repeat, statuses
from wijkbudget import logredact
from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.voting import operations
from wijkbudget.voting.models import (
    Channel,
    CodeBatch,
    Participation,
    VoterFingerprint,
    VotingCode,
    VotingError,
    VotingPlace,
)
from wijkbudget.voting.operations import places


def codes_for(board, rnd, n=1, **kwargs):
    batch = operations.generate_codes(board, rnd, n, **kwargs)
    db.session.commit()
    return operations.batch_codes(batch)


def choose_and_cast(client, url, proposal_id):
    chosen = client.post(url, {"p": [str(proposal_id)], "action": "review"}, page=url)
    assert chosen.status_code == 303, chosen.get_data(as_text=True)[:500]
    return client.post(f"{url}/versturen", {}, page=f"{url}/controleren")


def participations():
    db.session.expire_all()
    return list(db.session.scalars(select(Participation)))


# --- codes next to accounts --------------------------------------------------------------------


def test_a_code_votes_in_a_round_of_accounts_and_codes_without_logging_in(
    west, voting_round, board, client
):
    rnd, proposals = voting_round
    assert rnd.eligibility == Eligibility.ACCOUNTS_AND_CODES  # what a new round allows
    [code] = codes_for(board, rnd)
    round_page = client.get(f"/wijk/{west.slug}/rondes/{rnd.id}").get_data(as_text=True)
    assert "Stem met de code uit je brief" in round_page and f"/stem?ronde={rnd.id}" in round_page
    assert "Met je account, of met de stemcode uit je brief" in round_page  # the rules say so
    wijk_page = client.get(f"/wijk/{west.slug}").get_data(as_text=True)
    assert f"/stem?ronde={rnd.id}" in wijk_page
    assert "Heb je een brief met een stemcode?" in client.get("/").get_data(as_text=True)

    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    entered = client.post(f"/stem?ronde={rnd.id}", {"code": code}, page=f"/stem?ronde={rnd.id}")
    assert entered.status_code == 303 and entered.headers["Location"].endswith(url)
    assert client.get(url).status_code == 200  # the ballot, not the login page
    cast = choose_and_cast(client, url, proposals[1].id)
    assert cast.status_code == 303 and cast.headers["Location"].endswith("/bewijs")
    [vote] = participations()
    assert vote.user_id is None and vote.code_id is not None


def test_a_round_of_accounts_only_makes_no_codes_and_shows_no_code_button(
    west, voting_round, board, client
):
    rnd, _proposals = voting_round
    rnd.eligibility = Eligibility.ACCOUNTS
    db.session.commit()
    with pytest.raises(VotingError, match="alleen met een account"):
        operations.generate_codes(board, rnd, 5)
    db.session.rollback()
    with pytest.raises(VotingError, match="alleen met een account"):
        operations.issue_walk_in_code(board, rnd)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CodeBatch)) == 0
    page = client.get(f"/wijk/{west.slug}/rondes/{rnd.id}").get_data(as_text=True)
    assert "Stem met de code uit je brief" not in page and "Met een account van wijkbudget" in page
    assert "Heb je een brief met een stemcode?" not in client.get("/").get_data(as_text=True)


def test_who_voted_with_the_account_cannot_vote_again_with_a_letter(
    west, voting_round, board, make_user, make_client
):
    rnd, proposals = voting_round
    [code] = codes_for(board, rnd)
    resident = make_user("els@example.org", wijk=west)
    me = make_client()
    me.login(resident.email)
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    assert choose_and_cast(me, url, proposals[0].id).status_code == 303
    refused = me.post("/stem", {"code": code}, page="/stem")
    assert refused.status_code == 409
    assert "Je hebt al gestemd" in refused.get_data(as_text=True)
    assert len(participations()) == 1
    # the letter's code is not used up by the refusal
    assert db.session.scalar(select(VotingCode.used)) is False


def test_who_voted_with_a_letter_while_logged_in_cannot_vote_again_with_the_account(
    west, voting_round, board, make_user, make_client
):
    rnd, proposals = voting_round
    [code] = codes_for(board, rnd)
    resident = make_user("piet@example.org", wijk=west)
    me = make_client()
    me.login(resident.email)
    notice = me.get("/stem").get_data(as_text=True)
    assert "Je bent ingelogd" in notice  # the page says the code counts for the account
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    assert me.post("/stem", {"code": code}, page="/stem").status_code == 303
    assert choose_and_cast(me, url, proposals[0].id).status_code == 303
    [vote] = participations()
    assert vote.user_id == resident.id and vote.code_id is not None
    assert db.session.scalar(select(func.count()).select_from(VoterFingerprint)) == 1
    # the account's own way to the ballot now says it voted
    again = me.get(url)
    assert again.status_code == 409 and "Je hebt al gestemd" in again.get_data(as_text=True)
    with pytest.raises(operations.AlreadyVoted):
        operations.cast(rnd, {proposals[1].id: 1}, user=resident, channel=Channel.ONLINE)
    db.session.rollback()
    assert len(participations()) == 1


def test_in_a_round_of_codes_only_a_household_votes_with_each_letter_on_one_computer(
    west, voting_round, board, make_user, make_client
):
    rnd, proposals = voting_round
    rnd.eligibility = Eligibility.CODES
    db.session.commit()
    first, second = codes_for(board, rnd, 2)
    resident = make_user("huis@example.org", wijk=west)
    shared = make_client()
    shared.login(resident.email)
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    for code in (first, second):
        assert shared.post("/stem", {"code": code}, page="/stem").status_code == 303
        assert choose_and_cast(shared, url, proposals[0].id).status_code == 303
    votes = participations()
    assert len(votes) == 2 and all(v.user_id is None for v in votes)


# --- the letter's QR address -------------------------------------------------------------------


def test_the_qr_address_fills_the_code_in_and_writes_nothing(west, voting_round, board, client):
    rnd, _proposals = voting_round
    [code] = codes_for(board, rnd)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    page = client.get(f"/stem?code={code}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and f'value="{code}"' in body
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    db.session.expire_all()
    assert db.session.scalar(select(VotingCode.used)) is False
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    # an odd value is only shown back, escaped and cut
    odd = client.get("/stem?code=%22%3E%3Cscript%3E" + "A" * 500).get_data(as_text=True)
    field = re.search(r'<input id="code"[^>]*>', odd)
    assert field is not None and "<script>" not in odd.split("<body")[1].replace(
        '<script src="/static/', ""
    )
    assert "&#34;&gt;&lt;script&gt;" in field.group(0) and "A" * 100 not in field.group(0)


def test_the_code_page_is_never_a_page_cache_key(app, west, voting_round, board):
    from wijkbudget import pagecache

    with app.test_request_context("/stem?code=AAAA-BBBB-CCCC"):
        assert not pagecache.anonymous_read()
    with app.test_request_context("/wijk/west"):
        assert pagecache.anonymous_read()


def test_a_code_in_a_qr_address_reaches_no_log(app, west, voting_round, board, caplog):
    """The development server's request log, gunicorn's access log (its default format and one
    with the query and the Referer) and the app's own logs: none holds the code."""
    rnd, _proposals = voting_round
    [code] = codes_for(board, rnd)
    plain = code.replace("-", "")
    caplog.set_level(logging.DEBUG)

    # the development server (make run) and its request log
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        for query in (f"code={code}", f"ronde={rnd.id}&code={plain}", f"CODE={code.lower()}"):
            request = urllib.request.Request(  # noqa: S310 (our own server, over http)
                f"{base}/stem?{query}",
                headers={"Referer": f"{base}/stem?code={code}", "Host": "wijkbudget.test"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http)
                assert response.status == 200
    finally:
        server.shutdown()
        thread.join(5)
    requests = [r for r in caplog.records if r.name == "werkzeug" and "/stem" in r.getMessage()]
    assert len(requests) == 3, [r.getMessage() for r in caplog.records]

    # gunicorn's access log, with a format that holds everything a format can
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    config = Config()
    config.set("accesslog", "-")
    config.set(
        "access_log_format",
        '%(h)s %(t)s "%(r)s" %(s)s "%(f)s" "%(a)s" %(U)s %(q)s %({x-forwarded-for}i)s',
    )
    access = Logger(config)
    written = io.StringIO()
    access.access_log.handlers = [logging.StreamHandler(written)]
    access.access_log.setLevel(logging.INFO)

    class Response:
        status = "200 OK"
        response_length = 10
        sent = 10
        headers: list[tuple[str, str]] = []

    class Request:
        headers = [("X-FORWARDED-FOR", "192.0.2.1")]

    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/stem?code={code}",
        "PATH_INFO": "/stem",
        "QUERY_STRING": f"code={code}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_REFERER": f"https://wijkbudget.example/stem?code={code}",
        "HTTP_USER_AGENT": "test",
    }
    access.access(Response(), Request(), environ, timedelta(seconds=1))
    line = written.getvalue()
    assert "/stem?code=[weg]" in line and "192.0.2.1" in line

    everything = caplog.text + line
    for form in (code, plain, code.lower()):
        assert form not in everything


def test_redact_takes_only_the_code_parameter():
    assert logredact.redact("GET /stem?code=K7QF-2MXP-9TRA HTTP/1.1") == (
        "GET /stem?code=[weg] HTTP/1.1"
    )
    assert logredact.redact("/stem?ronde=3&code=K7QF2MXP9TRA&x=1") == (
        "/stem?ronde=3&code=[weg]&x=1"
    )
    assert logredact.redact("/stem?code%3DK7QF") == "/stem?code%3D[weg]"
    # the language link keeps the page it came from, the code page's code included
    assert logredact.redact("/taal/en?next=%2Fstem%3Fcode%3DK7QF-2MXP%26ronde%3D3") == (
        "/taal/en?next=%2Fstem%3Fcode%3D[weg]%26ronde%3D3"
    )
    # another parameter that ends in "code" is not a voting code
    assert logredact.redact("/adres?postcode=3531AB") == "/adres?postcode=3531AB"


# --- voting places -----------------------------------------------------------------------------


def place_form(**overrides):
    form = {
        "name": "Buurthuis De Pijp",
        "address": "Tolstraat 10",
        "day": "2027-06-12",
        "opens": "10:00",
        "closes": "16:00",
        "note": "rolstoeltoegankelijk",
    }
    return {**form, **overrides}


@pytest.fixture
def board_client(board, make_client):
    client = make_client()
    client.login(board.email)
    return client


def test_the_board_lists_voting_places_and_residents_see_them(
    west, voting_round, board_client, client
):
    rnd, _proposals = voting_round
    page = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemlocaties"
    added = board_client.post(page, place_form(), page=page)
    assert added.status_code == 303
    place = db.session.scalar(select(VotingPlace))
    # typed in Amsterdam (summer time: UTC+2), stored in UTC
    assert place.opens_at == datetime(2027, 6, 12, 8, 0, tzinfo=UTC)
    assert place.closes_at == datetime(2027, 6, 12, 14, 0, tzinfo=UTC)
    shown = client.get(f"/wijk/{west.slug}/rondes/{rnd.id}").get_data(as_text=True)
    assert "Buurthuis De Pijp" in shown and "Tolstraat 10" in shown
    assert "zaterdag 12 juni 2027" in shown and "10:00" in shown and "16:00" in shown
    # and during the vote, the paper kit to print at home
    assert f"/rondes/{rnd.id}/papieren-stembiljet" in shown and "Het boekje met alle" in shown
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "voting_place.add"))
    assert audit is not None

    for wrong, message in (
        ({"closes": "09:00"}, "later sluiten"),
        ({"name": ""}, "naam van de plek"),
        ({"day": "0001-01-01"}, "tussen 1900 en 2999"),
        ({"opens": "25:99"}, "Open vanaf"),
    ):
        refused = board_client.post(page, place_form(**wrong), page=page)
        assert refused.status_code == 422, wrong
        assert message in refused.get_data(as_text=True), wrong
    assert db.session.scalar(select(func.count()).select_from(VotingPlace)) == 1


def test_a_walk_in_code_records_the_desk_and_the_desk_then_stays(
    west, voting_round, board, board_client
):
    rnd, _proposals = voting_round
    place = places.add_voting_place(
        board,
        rnd,
        name="Marktkraam",
        address="Plein 1",
        opens_at=datetime(2027, 6, 12, 8, tzinfo=UTC),
        closes_at=datetime(2027, 6, 12, 12, tzinfo=UTC),
    )
    place_id = place.id
    codes_page = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    assert "Marktkraam" in board_client.get(codes_page).get_data(as_text=True)
    given = board_client.post(
        codes_page, {"action": "walk_in", "place": str(place_id)}, page=codes_page
    )
    assert given.status_code == 200 and "Stemcode voor deze bezoeker" in given.get_data(
        as_text=True
    )
    batch = db.session.scalar(select(CodeBatch))
    assert batch.voting_place_id == place_id and batch.size == 1
    # the desk, never the person: the batch holds no name, mail or address of the visitor
    assert batch.label == "Marktkraam" and batch.area_id is None
    remove = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemlocaties/{place_id}/weg"
    kept = board_client.post(remove, {}, page=codes_page)
    assert kept.status_code == 303
    assert db.session.get(VotingPlace, place_id) is not None


def test_another_wijks_place_is_not_found(
    west, oost, voting_round, board, make_user, make_client, make_round
):
    rnd, _proposals = voting_round
    place = places.add_voting_place(
        board,
        rnd,
        name="Buurthuis",
        address="Straat 1",
        opens_at=datetime(2027, 6, 12, 8, tzinfo=UTC),
        closes_at=datetime(2027, 6, 12, 12, tzinfo=UTC),
    )
    other_board = make_user("oost@example.org", wijk=oost, roles=((Role.BOARD, oost),))
    other_round = make_round(oost, Phase.VOTING)
    theirs = make_client()
    theirs.login(other_board.email)
    page = f"/wijk/{oost.slug}/bestuur/rondes/{other_round.id}/stemlocaties"
    response = theirs.post(f"{page}/{place.id}/weg", {}, page=page)
    assert response.status_code == 404
    # and a walk-in code for another round's desk
    codes_page = f"/wijk/{oost.slug}/bestuur/rondes/{other_round.id}/stemcodes"
    walk_in = theirs.post(codes_page, {"action": "walk_in", "place": str(place.id)}, page=page)
    assert walk_in.status_code == 404
    assert db.session.get(VotingPlace, place.id) is not None


def test_a_resident_may_not_add_a_place(west, voting_round, make_user, make_client):
    rnd, _proposals = voting_round
    resident = make_user("bewoner@example.org", wijk=west)
    me = make_client()
    me.login(resident.email)
    page = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemlocaties"
    assert me.post(page, place_form(), page="/").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(VotingPlace)) == 0


def test_the_boards_guide_is_plain_and_public(client):
    page = client.get("/hulp/van-deur-tot-deur")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Van deur tot deur: zo organiseer je de stemming" in body
    assert "Zonder adressenlijst kan wijkbudget niet zien" in body


# --- at once (PostgreSQL) ----------------------------------------------------------------------


@postgres_only
def test_one_person_with_an_account_and_a_letter_pressing_both_at_once_votes_once(
    west, voting_round, board, make_user, make_client
):
    rnd, proposals = voting_round
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    for attempt in repeat():
        resident = make_user(f"twee{attempt}@example.org", wijk=west)
        [code] = codes_for(board, rnd)

        def contender(i, resident=resident, code=code):
            tab = make_client()
            tab.login(resident.email)
            if i == 1:
                assert tab.post("/stem", {"code": code}, page="/stem").status_code == 303
            chosen = tab.post(url, {"p": [str(proposals[0].id)], "action": "review"}, page=url)
            assert chosen.status_code == 303
            token = tab.csrf(f"{url}/controleren")
            return lambda: tab.raw.post(f"{url}/versturen", data={"csrf_token": token})

        before = len(participations())
        responses = race(2, contender)
        assert_no_server_errors(responses)
        votes = participations()
        # one ballot in all, by the account or by the code (which then carries the account)
        assert len(votes) == before + 1, statuses(responses)
        assert sorted(statuses(responses)) == [303, 409]
        assert [v.user_id for v in votes].count(resident.id) == 1


@postgres_only
def test_removing_a_place_while_its_desk_hands_out_a_code(
    west, voting_round, board, board2, make_client
):
    rnd, _proposals = voting_round
    codes_page = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    desks = []
    for member in (board, board2):
        tab = make_client()
        tab.login(member.email)
        desks.append((tab, tab.csrf(codes_page)))
    for attempt in repeat():
        place = places.add_voting_place(
            board,
            rnd,
            name=f"Buurthuis {attempt}",
            address="Straat 1",
            opens_at=datetime(2027, 6, 12, 8, tzinfo=UTC),
            closes_at=datetime(2027, 6, 12, 12, tzinfo=UTC),
        )
        place_id = place.id
        remove = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemlocaties/{place_id}/weg"

        def contender(i, place_id=place_id, remove=remove):
            tab, token = desks[i]
            if i == 0:
                data = {"csrf_token": token, "action": "walk_in", "place": str(place_id)}
                return lambda: tab.raw.post(codes_page, data=data)
            return lambda: tab.raw.post(remove, data={"csrf_token": token})

        responses = race(2, contender)
        assert_no_server_errors(responses)
        db.session.expire_all()
        handed_out = db.session.scalars(
            select(CodeBatch).where(CodeBatch.label == f"Buurthuis {attempt}")
        ).all()
        exists = db.session.get(VotingPlace, place_id) is not None
        # either the code was handed out and the place stayed, with the code's desk, or the
        # place went and no code came from it; never a code whose desk was lost
        assert all(b.voting_place_id == place_id for b in handed_out), statuses(responses)
        assert exists == bool(handed_out), statuses(responses)


def test_a_code_votes_when_the_dates_opened_the_vote_before_the_tick_ran(
    west, voting_round, board, client
):
    rnd, _proposals = voting_round
    [code] = codes_for(board, rnd)
    rnd.phase = Phase.SUPPORT
    rnd.voting_opens = datetime.now(UTC) - timedelta(seconds=5)
    db.session.commit()
    entered = client.post(f"/stem?ronde={rnd.id}", {"code": code}, page=f"/stem?ronde={rnd.id}")
    assert entered.status_code == 303
    assert entered.headers["Location"].endswith(f"/rondes/{rnd.id}/stemmen")
