"""Moderators see why a comment was reported; approvers see the receipt beside each expense
that waits for their approval (issue 22)."""

from __future__ import annotations

from tests.test_spending import last_expense, record, recorded, world  # noqa: F401 - fixture
from wijkbudget.dialogue import operations as dialogue
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase


def test_the_approver_sees_a_link_to_each_receipt(world, make_client):  # noqa: F811
    wijk, _other, _rnd, people, projects = world
    initiator = make_client()
    initiator.login("initiatief@example.org")
    assert record(initiator, projects["Bankjes"]).status_code == 303
    with_receipt = last_expense()
    without = recorded(people["initiator"], projects["Bankjes"], 500, description="Zonder bon")
    board = make_client()
    board.login("bestuur@example.org")
    page = board.get(f"/wijk/{wijk.slug}/bestuur/uitgaven").get_data(as_text=True)
    link = f"/projecten/{projects['Bankjes'].id}/uitgaven/{with_receipt.id}/bon"
    assert link in page and "Bekijk de bon of factuur van deze uitgave" in page
    assert f"/uitgaven/{without.id}/bon" not in page  # no receipt: no link
    assert page.count("Bekijk de bon of factuur") == 1
    receipt = board.get(link)
    assert receipt.status_code == 200 and receipt.data.startswith(b"%PDF")
    receipt.close()


def test_the_moderator_sees_why_a_comment_was_reported_not_by_whom(
    west, board, make_user, make_round, make_proposal, make_client
):
    people = [make_user(f"melder{i}@example.org", wijk=west, name=f"Melder {i}") for i in range(3)]
    rnd = make_round(west, Phase.REVIEW)
    proposal = make_proposal(rnd, people[0], State.SUBMITTED, title="Bankjes")
    thread = dialogue.thread_for_proposal(proposal)
    comment = dialogue.post_comment(people[0], thread, "Iets onaardigs")
    dialogue.report_comment(people[1], comment, "Scheldwoorden")
    dialogue.report_comment(people[2], comment, "Gaat niet over het voorstel")
    client = make_client()
    client.login(board.email)
    page = client.get(f"/wijk/{west.slug}/bestuur/moderatie").get_data(as_text=True)
    assert "Waarom gemeld:" in page
    assert "Scheldwoorden" in page and "Gaat niet over het voorstel" in page
    assert "Melder 1" not in page and "Melder 2" not in page  # who reported stays unknown
    # once the reports are dismissed, their reasons are no longer listed
    dialogue.dismiss_reports(board, comment)
    page = client.get(f"/wijk/{west.slug}/bestuur/moderatie").get_data(as_text=True)
    assert "Scheldwoorden" not in page
