"""Moderators see why a comment was reported; approvers see the receipt beside each expense
that waits for their approval (issue 22)."""

from __future__ import annotations

from tests.test_spending import last_expense, record, recorded, world  # noqa: F401 - fixture


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
