"""The start page of a signed-in person (``/mijn``, issue 22): what they can do now by the
operations' own rules, their proposals' status in words, the board's waiting work with its four
eyes, the councillor's desk, nothing of another wijk, and a fixed number of queries. And the two
fixes beside it: admitting no longer says "op het stembiljet" before voting, and the edit page
shows what the board asked to change."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.conftest import mail_body
from wijkbudget.accounts.models import Role
from wijkbudget.dialogue.models import Comment
from wijkbudget.dialogue.operations import thread_for_proposal
from wijkbudget.extensions import db
from wijkbudget.notifications.models import Follow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending.models import Expense, FundedProject, PayeeType
from wijkbudget.voting.models import Channel, PaperBatch, Participation


def signed_in(make_client, user):
    client = make_client()
    client.login(user.email)
    return client


def page(client, url: str = "/mijn") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def text(html: str) -> str:
    """The page's words, without tags and with single spaces."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def world(west, oost, board, board2, make_user, make_round, make_proposal):
    """West: a round taking proposals (two submitted, one by Henk of the board), a round in
    voting, a round with a result and two funded projects with waiting expenses, a reported
    comment and two open paper piles. Oost: its own round, person and board."""
    fatima = make_user("fatima@example.org", wijk=west, name="Fatima")
    jan = make_user("jan@example.org", wijk=west, name="Jan")
    priya = make_user("priya@example.org", wijk=oost, name="Priya")
    oost_board = make_user("bestuur.oost@example.org", wijk=oost, roles=((Role.BOARD, oost),))
    councillor = make_user("raad@example.org", roles=((Role.COUNCILLOR, west),))
    open_round = make_round(west, Phase.SUBMISSION, title="Wijkbudget West 2027")
    vote_round = make_round(west, Phase.VOTING, title="Stemronde West")
    past_round = make_round(west, Phase.RESULT, title="Wijkbudget West 2026")
    oost_round = make_round(oost, Phase.SUBMISSION, title="Geheime ronde Oost")
    bloembakken = make_proposal(open_round, fatima, State.SUBMITTED, title="Bloembakken")
    make_proposal(open_round, jan, State.SUBMITTED, title="Jeu de boules")
    make_proposal(open_round, board, State.SUBMITTED, title="Henks eigen plan")
    make_proposal(vote_round, jan, State.ADMITTED, title="Speeltuin")
    make_proposal(oost_round, priya, State.SUBMITTED, title="Oost-plan van Priya")
    benches = make_proposal(past_round, fatima, State.CHOSEN, title="Bankjes")
    henks = make_proposal(past_round, board, State.CHOSEN, title="Henks tuin")
    thread = thread_for_proposal(bloembakken)
    db.session.add(Comment(thread=thread, author_id=jan.id, body="Onzin!", report_count=2))
    projects = []
    for proposal in (benches, henks):
        project = FundedProject(
            proposal=proposal, round=past_round, neighbourhood=west, granted_cents=250_000
        )
        db.session.add(project)
        projects.append(project)
    db.session.flush()
    for project, who in ((projects[0], fatima), (projects[1], board)):
        db.session.add(
            Expense(
                project_id=project.id, neighbourhood_id=west.id, spent_on=date.today(),
                amount_cents=10_000, payee="Bouwmarkt", payee_type=PayeeType.COMPANY,
                description="Hout", recorded_by_id=who.id,
            )
        )  # fmt: skip
    db.session.add(PaperBatch(round_id=vote_round.id, label="Buurthuis", declared_count=3,
                              created_by_id=board2.id))  # fmt: skip
    db.session.add(PaperBatch(round_id=vote_round.id, label="Markt", declared_count=2,
                              created_by_id=board.id))  # fmt: skip
    db.session.commit()
    return {
        "fatima": fatima, "jan": jan, "priya": priya, "oost_board": oost_board,
        "councillor": councillor, "open": open_round, "vote": vote_round, "past": past_round,
        "oost": oost_round, "bloembakken": bloembakken,
    }  # fmt: skip


def test_anonymous_visitors_go_to_the_login(client):
    response = client.get("/mijn")
    assert response.status_code in (302, 303)
    assert "/inloggen" in response.headers["Location"]


def test_a_resident_sees_what_they_can_do_now_in_their_wijk(world, make_client):
    body = page(signed_in(make_client, world["jan"]))
    words = text(body)
    assert "Wijkbudget West 2027" in words and "Stemronde West" in words
    # propose in the open round, vote in the voting round: links to the real pages
    assert f"/wijk/west/rondes/{world['open'].id}/voorstellen/nieuw" in body
    assert f"/wijk/west/rondes/{world['vote'].id}/stemmen" in body
    assert "Stem nu" in words
    # the round with a result: its result
    assert f"/wijk/west/rondes/{world['past'].id}/uitslag" in body
    # nothing of the board, nothing of Oost
    assert "Voor het bestuur" not in words
    assert "Geheime ronde Oost" not in words and "Oost-plan" not in words


def test_who_voted_is_not_asked_to_vote_again(world, make_client):
    db.session.add(
        Participation(round_id=world["vote"].id, user_id=world["jan"].id, channel=Channel.ONLINE)
    )
    db.session.commit()
    body = page(signed_in(make_client, world["jan"]))
    assert "Je hebt gestemd" in text(body)
    assert f"/wijk/west/rondes/{world['vote'].id}/stemmen" not in body


def test_an_unverified_person_is_told_why_they_cannot_propose(west, make_round, make_user,
                                                               make_client):  # fmt: skip
    rnd = make_round(west, Phase.SUBMISSION)
    person = make_user("nieuw@example.org", wijk=west, verified=False)
    body = page(signed_in(make_client, person))
    assert f"/wijk/west/rondes/{rnd.id}/voorstellen/nieuw" not in body
    assert "met een bevestigd account" in text(body)


def test_support_is_offered_only_in_the_support_phase(west, make_round, make_user, make_client):
    rnd = make_round(west, Phase.SUPPORT, title="Steunronde", support_threshold=3)
    person = make_user("steun@example.org", wijk=west)
    words = text(page(signed_in(make_client, person)))
    assert "Steun de voorstellen die je goed vindt" in words
    rnd.phase = Phase.REVIEW
    db.session.commit()
    assert "Steun de voorstellen" not in text(page(signed_in(make_client, person)))


def test_an_author_reads_the_status_of_each_proposal_in_words(
    west, board, make_round, make_proposal, make_user, make_client
):
    author = make_user("auteur@example.org", wijk=west)
    support = make_round(west, Phase.SUPPORT, title="Steunronde", support_threshold=3)
    make_proposal(support, author, State.ADMITTED, title="Toegelaten plan")
    sent_back = make_proposal(support, author, State.CHANGES_REQUESTED, title="Terug")
    make_proposal(support, author, State.REJECTED, title="Afgewezen plan")
    words = text(page(signed_in(make_client, author)))
    assert "Of het op het stembiljet komt, hangt af van de steun" in words
    assert "minstens 3 steunbetuigingen" in words
    assert "staat op het stembiljet" not in words
    assert "Afgewezen: het voorstel past niet bij de regels" in words
    assert f"/voorstellen/{sent_back.id}/bewerken" in page(signed_in(make_client, author))
    # once voting opened, and only then, it is on the ballot
    support.phase = Phase.VOTING
    db.session.commit()
    assert "Toegelaten: het voorstel staat op het stembiljet." in text(
        page(signed_in(make_client, author))
    )


def test_the_board_sees_what_waits_for_it_with_four_eyes(world, board, make_client):
    body = page(signed_in(make_client, board))
    words = text(body)
    assert "Voor het bestuur van West" in words
    # two proposals of others to review (Henk's own is for another board member)
    assert "2 voorstellen om te toetsen" in words
    assert f"/wijk/west/bestuur/rondes/{world['open'].id}/toetsing" in body
    assert "1 gemelde reactie om te bekijken" in words
    assert "/wijk/west/bestuur/moderatie" in body
    # Fatima's expense he may approve; his own waits for another board member
    assert "1 uitgave om goed te keuren" in words
    assert "1 uitgave wacht op een ander bestuurslid" in words
    assert "/wijk/west/bestuur/uitgaven" in body
    # Ria's pile he may confirm, his own not
    assert "1 stapel papieren stembiljetten om te bevestigen" in words
    assert f"/wijk/west/bestuur/rondes/{world['vote'].id}/papier" in body


def test_the_second_board_member_sees_the_other_side_of_four_eyes(world, board2, make_client):
    words = text(page(signed_in(make_client, board2)))
    assert "3 voorstellen om te toetsen" in words  # Henk's own too
    assert "2 uitgaven om goed te keuren" in words
    assert "wacht op een ander bestuurslid" not in words
    assert "1 stapel papieren stembiljetten" in words  # Henk's, not her own


def test_a_board_of_another_wijk_sees_nothing_of_west(world, make_client):
    body = page(signed_in(make_client, world["oost_board"]))
    words = text(body)
    assert "Voor het bestuur van Oost" in words
    assert "1 voorstel om te toetsen" in words  # Priya's, in Oost
    assert "Er wacht nu niets" not in words
    for west_thing in ("West 2027", "Stemronde West", "Bloembakken", "/wijk/west/"):
        assert west_thing not in body
    priya = text(page(signed_in(make_client, world["priya"])))
    assert "Geheime ronde Oost" in priya
    assert "West" not in priya.replace("Wijkbudget", "")


def test_a_councillor_gets_a_link_to_the_desk(world, make_client):
    body = page(signed_in(make_client, world["councillor"]))
    assert 'href="/controle"' in body
    assert 'href="/wijk/west/controle"' in body
    assert "Voor het bestuur" not in text(body)


def test_the_home_page_leads_a_signed_in_person_to_the_start_page(world, make_client):
    body = page(signed_in(make_client, world["jan"]), "/")
    assert 'href="/mijn"' in body


def test_the_start_page_reads_a_fixed_number_of_queries(
    world, board, make_proposal, make_client, count_queries
):
    client = signed_in(make_client, board)

    def queries() -> int:
        with count_queries() as statements:
            page(client)
        return len(statements)

    before = queries()
    rnd = world["open"]
    for n in range(4):
        proposal = make_proposal(rnd, board, State.SUBMITTED, title=f"Nog een plan {n}")
        make_proposal(rnd, world["jan"], State.SUBMITTED, title=f"Van Jan {n}", commit=False)
        thread = thread_for_proposal(proposal)
        db.session.add(Comment(thread=thread, author_id=world["jan"].id, body="Hm", report_count=1))
    for n in range(4):  # each on a project of its own (the four eyes read each one's authors)
        chosen = make_proposal(world["past"], world["jan"], State.CHOSEN, title=f"Project {n}")
        project = FundedProject(
            proposal=chosen, round=world["past"], neighbourhood_id=chosen.neighbourhood_id,
            granted_cents=100_000,
        )  # fmt: skip
        db.session.add(project)
        db.session.flush()
        db.session.add(
            Expense(
                project_id=project.id, neighbourhood_id=project.neighbourhood_id,
                spent_on=date.today(), amount_cents=5_000, payee="Winkel",
                payee_type=PayeeType.COMPANY, description="Verf", recorded_by_id=world["jan"].id,
            )
        )  # fmt: skip
    db.session.commit()
    assert queries() == before


# --- the two fixes --------------------------------------------------------------------------


def test_admitting_does_not_promise_the_ballot_while_support_can_drop_it(
    west, board, make_round, make_proposal, make_user, make_client, inbox
):
    author = make_user("indiener@example.org", wijk=west)
    rnd = make_round(west, Phase.REVIEW, support_threshold=3)
    proposal = make_proposal(rnd, author, State.SUBMITTED, title="Bankje")
    client = signed_in(make_client, board)
    inbox.clear()
    response = client.post(
        f"/wijk/west/bestuur/voorstellen/{proposal.id}/toelaten",
        {"message": ""},
        page=f"/voorstellen/{proposal.id}",
        follow_redirects=True,
    )
    assert response.status_code == 200
    words = text(response.get_data(as_text=True))
    assert "Het voorstel is toegelaten." in words
    assert "op het stembiljet komt, hangt af van de steun" in words
    assert "staat op het stembiljet" not in words
    mail = inbox.last_to(author.email)
    assert "stembiljet" not in mail["Subject"] and "toegelaten" in mail["Subject"]
    body = mail_body(mail)
    assert "hangt af van de steun" in body and "staat op het stembiljet" not in body


def test_the_edit_page_shows_what_the_board_asked_to_change(
    west, board, make_round, make_proposal, make_user, make_client
):
    author = make_user("indiener@example.org", wijk=west)
    rnd = make_round(west, Phase.REVIEW)
    proposal = make_proposal(rnd, author, State.SUBMITTED, title="Bankje")
    response = signed_in(make_client, board).post(
        f"/wijk/west/bestuur/voorstellen/{proposal.id}/aanpassing",
        {"message": "Noem de straat waar het bankje komt."},
        page=f"/voorstellen/{proposal.id}",
    )
    assert response.status_code == 303
    body = page(signed_in(make_client, author), f"/voorstellen/{proposal.id}/bewerken")
    assert "Dit vraagt het bestuur" in body
    assert "Noem de straat waar het bankje komt." in body
    # an ordinary edit page has no such block
    other = make_proposal(rnd, author, State.CONCEPT, title="Concept")
    rnd.phase = Phase.SUBMISSION
    db.session.commit()
    assert "Dit vraagt het bestuur" not in page(
        signed_in(make_client, author), f"/voorstellen/{other.id}/bewerken"
    )


def test_what_a_person_follows_is_listed(world, make_client):
    jan = world["jan"]
    assert "Je volgt nog niets" in text(page(signed_in(make_client, jan)))
    db.session.add(Follow(user_id=jan.id, proposal_id=world["bloembakken"].id))
    db.session.commit()
    body = page(signed_in(make_client, jan))
    section = body.split('id="follows"')[1]
    assert "Bloembakken" in section and f'/voorstellen/{world["bloembakken"].id}"' in section
    assert "Je volgt nog niets" not in text(body)
