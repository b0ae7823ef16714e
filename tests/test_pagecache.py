"""The public page cache: pages for visitors without a session come from the cache, are never
stale after a change, and nobody with a session ever gets someone else's page."""

from __future__ import annotations

import re
import socket

import pytest
from sqlalchemy import select

from wijkbudget.dialogue import operations as dialogue
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.voting import ballot_page
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Participation


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
def app_config(app_config, request):
    config = {**app_config, "PAGE_CACHE_SECONDS": 60}
    if request.param == "redis":
        if not redis_up():
            pytest.skip("no Redis on 127.0.0.1:6379")
        import redis

        # a database of its own, emptied first: the generation starts from nothing
        url = "redis://127.0.0.1:6379/13"
        redis.Redis.from_url(url).flushdb()
        config["PAGE_CACHE_URL"] = url
    return config


@pytest.fixture
def voting_round(voting_round):
    """The conftest's round in voting, for voters with a code."""
    rnd, _proposals = voting_round
    rnd.eligibility = Eligibility.CODES
    db.session.commit()
    return voting_round


def public_pages(west, rnd, proposal, thread_id):
    return [
        "/",
        f"/wijk/{west.slug}",
        f"/wijk/{west.slug}/rondes/{rnd.id}",
        f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen",
        f"/voorstellen/{proposal.id}",
        f"/gesprekken/{thread_id}",
        f"/wijk/{west.slug}/geld",
    ]


def test_public_pages_set_no_cookie_so_they_can_be_cached(
    west, voting_round, make_client, count_queries
):
    rnd, proposals = voting_round
    thread = dialogue.thread_for_proposal(proposals[0])
    db.session.commit()
    for url in public_pages(west, rnd, proposals[0], thread.id):
        visitor = make_client()
        first = visitor.get(url)
        assert first.status_code == 200, url
        assert "Set-Cookie" not in first.headers, url
        assert 'name="csrf_token"' not in first.get_data(as_text=True), url
        assert first.headers["X-Cache"] == "miss", url
        with count_queries() as statements:
            again = make_client().get(url)
        assert again.headers["X-Cache"] == "hit", url
        assert statements == [], url  # not one query: the page came from the cache
        assert again.get_data() == first.get_data(), url
        # the security headers come along
        assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]


def test_a_change_is_seen_at_once(west, voting_round, board, make_client):
    rnd, proposals = voting_round
    thread = dialogue.thread_for_proposal(proposals[0])
    db.session.commit()
    url = f"/gesprekken/{thread.id}"
    assert make_client().get(url).headers["X-Cache"] == "miss"
    assert make_client().get(url).headers["X-Cache"] == "hit"
    # a resident who is logged in writes: the board's own reply
    writer = make_client()
    writer.login(board.email)
    page = writer.get(url).get_data(as_text=True)
    assert "X-Cache" not in writer.get(url).headers  # a session: never from the cache
    assert 'name="csrf_token"' in page
    response = writer.post(
        f"/gesprekken/{thread.id}/reacties", {"body": "Wij kijken ernaar, dank!"}, page=url
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    fresh = make_client().get(url)
    assert fresh.headers["X-Cache"] == "miss"
    assert "Wij kijken ernaar" in fresh.get_data(as_text=True)


def test_a_cast_ballot_leaves_the_cache_alone_and_voters_get_their_own_pages(
    west, voting_round, board, make_client
):
    rnd, proposals = voting_round
    code = voting.batch_codes(voting.generate_codes(board, rnd, 1))[0]
    db.session.commit()
    listing = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen"
    assert make_client().get(listing).headers["X-Cache"] == "miss"

    voter = make_client()
    assert voter.post("/stem", {"code": code}, page="/stem").status_code == 303
    ballot = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    page = voter.get(ballot)
    assert "X-Cache" not in page.headers and "Speeltuin" in page.get_data(as_text=True)
    assert voter.post(ballot, {"p": [str(proposals[1].id)], "action": "review"}, page=ballot)
    assert voter.post(f"{ballot}/versturen", {}, page=ballot).status_code == 303
    assert db.session.scalar(select(Participation.id)) is not None
    # the list did not change, so it still comes from the cache
    assert make_client().get(listing).headers["X-Cache"] == "hit"
    # the voter's own list is rendered for them (they have a session)
    assert "X-Cache" not in voter.get(listing).headers


def test_a_visitor_with_a_session_never_gets_the_cached_page(west, voting_round, make_client):
    rnd, _proposals = voting_round
    url = f"/wijk/{west.slug}/rondes/{rnd.id}"
    anonymous = make_client().get(url).get_data(as_text=True)
    assert "Inloggen" in anonymous
    english = make_client()
    response = english.get(f"/taal/en?next={url}")
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    body = english.get(url).get_data(as_text=True)
    assert '<html lang="en">' in body and "Log in" in body
    # and the cookie-less page is still the Dutch one
    assert '<html lang="nl">' in make_client().get(url).get_data(as_text=True)


def test_the_language_link(make_client):
    visitor = make_client()
    assert visitor.get("/taal/fr?next=/").status_code == 404
    for target in ("https://evil.example/", "//evil.example/"):
        response = visitor.get(f"/taal/en?next={target}")
        assert response.headers["Location"] in ("/", "http://wijkbudget.test/")
    assert '<html lang="en">' in visitor.get("/").get_data(as_text=True)


def test_pages_with_a_form_token_are_not_cached(make_client):
    first = make_client().get("/stem")
    second = make_client().get("/stem")
    assert "Set-Cookie" in first.headers and "X-Cache" not in second.headers
    token = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
    tokens = {token.search(r.get_data(as_text=True)).group(1) for r in (first, second)}
    assert len(tokens) == 2  # each visitor their own


def test_the_anonymous_proposal_order_is_shared_per_hour_and_carried_in_the_page_links(
    west, board, make_round, make_proposal, make_client, app
):
    app.config["PAGE_SIZE"] = 2
    rnd = make_round(west, Phase.SUPPORT)
    for n in range(5):
        make_proposal(rnd, board, State.ADMITTED, title=f"Plan {n}")
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen"
    body = make_client().get(url).get_data(as_text=True)
    seed = re.search(r"seed=(\d+)", body)
    assert seed, "the page links carry the order"
    titles = re.findall(r"Plan \d", make_client().get(f"{url}?seed={seed.group(1)}").get_data(True))
    again = re.findall(r"Plan \d", make_client().get(f"{url}?seed={seed.group(1)}").get_data(True))
    assert titles == again
    page2 = re.findall(
        r"Plan \d", make_client().get(f"{url}?seed={seed.group(1)}&page=2").get_data(True)
    )
    assert not set(titles) & set(page2)


def test_the_ballot_is_built_once_but_shows_each_voter_their_own_choices(
    west, voting_round, board, make_client
):
    rnd, proposals = voting_round
    codes = voting.batch_codes(voting.generate_codes(board, rnd, 2))
    db.session.commit()
    ballot = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    first, second = make_client(), make_client()
    for voter, code in ((first, codes[0]), (second, codes[1])):
        assert voter.post("/stem", {"code": code}, page="/stem").status_code == 303
    first.post(ballot, {"p": [str(proposals[1].id)], "action": "calculate"}, page=ballot)

    def checked(client):
        body = client.get(ballot).get_data(as_text=True)
        return {int(n) for n in re.findall(r'value="(\d+)" checked', body)}, body

    assert checked(first)[0] == {proposals[1].id}
    assert checked(second)[0] == set()
    # a change to a proposal reaches the ballot at once
    proposals[0].title = "Speeltuin <met> schommel"
    db.session.commit()
    marks, body = checked(second)
    assert "Speeltuin &lt;met&gt; schommel" in body and "<!--choice-->" not in body
    assert marks == set()


def test_a_change_made_with_a_plain_update_is_seen_at_once(west, voting_round, make_client):
    from sqlalchemy import update

    from wijkbudget.proposals.models import Proposal

    rnd, proposals = voting_round
    url = f"/voorstellen/{proposals[0].id}"
    assert make_client().get(url).headers["X-Cache"] == "miss"
    assert make_client().get(url).headers["X-Cache"] == "hit"
    db.session.execute(
        update(Proposal)
        .where(Proposal.id == proposals[0].id)
        .values(title="Speeltuin met glijbaan")
    )
    db.session.commit()
    fresh = make_client().get(url)
    assert fresh.headers["X-Cache"] == "miss"
    assert "Speeltuin met glijbaan" in fresh.get_data(as_text=True)


def test_ballot_rows_written_past_the_session_still_count_as_a_change(
    west, voting_round, board, make_client
):
    """The cast writes on the session's connection directly; only the cast itself (a use case
    of its own) commits quietly, any other commit of those rows (a paper sheet: part of
    entering it) is a change."""
    rnd, proposals = voting_round
    code = voting.batch_codes(voting.generate_codes(board, rnd, 1))[0]
    batch = voting.open_paper_batch(board, rnd, "Buurthuis", 1)
    listing = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen"
    assert make_client().get(listing).headers["X-Cache"] == "miss"
    assert make_client().get(listing).headers["X-Cache"] == "hit"
    voting.enter_sheet(board, rnd, batch, code, {proposals[1].id: 1})
    assert make_client().get(listing).headers["X-Cache"] == "miss"


@pytest.mark.parametrize("ballot_type", ["approval", "cumulative"])
def test_the_patched_ballot_is_the_plainly_rendered_one(app, voting_round, ballot_type):
    """The speed device of the ballot page (voting/ballot_page.py: items built once, the voter's
    choices put in by string replacement) gives the HTML that rendering each item with its
    choice gives."""
    rnd, proposals = voting_round
    rnd.ballot_type = ballot_type
    rnd.ballot_points = 5
    db.session.commit()
    selection = {proposals[1].id: 3 if ballot_type == "cumulative" else 1}
    with app.test_request_context("/"):
        html, costs = ballot_page.ballot_items(rnd)
        patched = str(ballot_page.fill_choices(rnd, html, costs, selection))
        plain = "".join(
            ballot_page.plain_item(rnd, p, selection.get(p.id))
            for p in sorted(proposals, key=lambda p: p.id)
        )
    assert patched == plain and ballot_page.CHOICE_MARK not in patched
