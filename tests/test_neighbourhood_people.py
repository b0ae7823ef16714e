"""The board's two lists of accounts (residents on the board page, those who work in the wijk on
their own page) come from one table macro: each row has the person's public name, whether the
e-mail address is confirmed and since when; only residents show their buurt."""

from __future__ import annotations

import re

from wijkbudget.accounts.models import Role


def _headers(body: str) -> list[str]:
    return re.findall(r'<th scope="col">([^<]*)</th>', body)


def test_residents_show_their_buurt_and_workers_do_not(make_wijk, make_user, make_client):
    west = make_wijk("West", areas=("Lombok",))
    oost = make_wijk("Oost", postcodes=((3581, 3585),), areas=("Oudwijk",))
    board = make_user("bestuur@example.org", wijk=west, roles=((Role.BOARD, west),))
    make_user("jan@example.org", wijk=west, name="Jan Lombok", verified=False)
    make_user("priya@example.org", wijk=oost, name="Priya Werkt", work_wijk=west)
    client = make_client()
    client.login(board.email)

    residents = client.get("/wijk/west/bestuur").get_data(as_text=True)
    assert _headers(residents) == ["Naam", "Buurt", "Bevestigd", "Lid sinds"]
    row = re.search(r"<tr>\s*<td>Jan Lombok</td>(.*?)</tr>", residents, re.S)
    assert row is not None
    assert re.findall(r"<td>([^<]*)</td>", row.group(1))[:2] == ["Lombok", "nee"]

    workers = client.get("/wijk/west/bestuur/werkenden").get_data(as_text=True)
    assert _headers(workers) == ["Naam", "Bevestigd", "Lid sinds"]
    row = re.search(r"<tr>\s*<td>Priya Werkt</td>(.*?)</tr>", workers, re.S)
    assert row is not None
    assert re.findall(r"<td>([^<]*)</td>", row.group(1))[0] == "ja"
    assert "Oudwijk" not in workers  # where a worker lives is not the board's business
