"""The spending exports for people (issue 22): the Excel workbook holds amounts as numbers shown
as euros, dates as dates, Dutch words for states, the project's title and who approved; the CSV
for Dutch Excel has semicolons, a byte order mark and decimal commas; the CSV for programs stays
as it was; formula cells are neutralised in all of them."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from tests.test_spending import recorded, world  # noqa: F401 - the fixture
from wijkbudget.exports import EURO_FORMAT, Euros, to_people_csv
from wijkbudget.extensions import db
from wijkbudget.spending import operations


def _scene(world):  # noqa: F811
    wijk, _other, _rnd, people, projects = world
    approved = recorded(people["initiator"], projects["Bankjes"], 123_456, payee="Bouwmarkt")
    operations.approve_expense(people["board2"], approved)
    evil = recorded(
        people["initiator"], projects["Bankjes"], 1_050,
        payee='=HYPERLINK("http://x","klik")', description="-2+3",
    )  # fmt: skip
    db.session.commit()
    return wijk, people, approved, evil


def test_the_workbook_holds_numbers_dates_and_dutch_words(world, make_client):  # noqa: F811
    wijk, people, approved, _evil = _scene(world)
    client = make_client()
    client.login("raad@example.org")
    data = client.get(f"/wijk/{wijk.slug}/controle/uitgaven.xlsx").data
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Uitgave", "Project", "Projectnummer", "Datum", "Bedrag"]
    assert "Goedgekeurd of afgewezen door" in header and "Status" in header
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == approved.id)
    cells = dict(zip(header, row, strict=True))
    amount = cells["Bedrag"]
    assert amount.data_type == "n" and Decimal(str(amount.value)) == Decimal("1234.56")
    assert amount.number_format == EURO_FORMAT
    assert isinstance(cells["Datum"].value, datetime | date)
    assert cells["Status"].value == "goedgekeurd"
    assert cells["Project"].value == "Bankjes"
    assert cells["Goedgekeurd of afgewezen door"].value == people["board2"].display_name
    # every cell: no formula
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    texts = [c.value for r in sheet.iter_rows() for c in r if isinstance(c.value, str)]
    assert '\'=HYPERLINK("http://x","klik")' in texts and "'-2+3" in texts


def test_the_projects_workbook_has_euros_as_numbers(world, make_client):  # noqa: F811
    wijk, _people, _approved, _evil = _scene(world)
    data = make_client().get(f"/wijk/{wijk.slug}/geld/projecten.xlsx").data
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    bankjes = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "Bankjes")
    granted = bankjes[header.index("Toegekend")]
    assert granted.data_type == "n" and granted.value == 3000
    assert bankjes[header.index("Status")].value == "Bezig"  # (an approved expense started it)


def test_the_csv_for_people_opens_in_columns_in_dutch_excel(world, make_client):  # noqa: F811
    wijk, people, approved, _evil = _scene(world)
    response = make_client().get(f"/wijk/{wijk.slug}/geld/uitgaven.nl.csv")
    assert response.status_code == 200
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    assert len(header) > 5 and header[4] == "Bedrag"
    row = next(r for r in rows[1:] if r[0] == str(approved.id))
    assert row[header.index("Bedrag")] == "1234,56"
    assert row[header.index("Status")] == "goedgekeurd"
    assert row[header.index("Goedgekeurd of afgewezen door")] == people["board2"].display_name
    assert row[header.index("Datum")].count("-") == 2 and len(row[3]) == 10  # 31-12-2026
    cells = [c for r in rows for c in r]
    assert '\'=HYPERLINK("http://x","klik")' in cells and "'-2+3" in cells


def test_the_csv_for_programs_keeps_commas_and_raw_fields(world, make_client):  # noqa: F811
    wijk, _people, approved, _evil = _scene(world)
    body = make_client().get(f"/wijk/{wijk.slug}/geld/uitgaven.csv").get_data(as_text=True)
    assert not body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body)))
    row = next(r for r in rows[1:] if r[0] == str(approved.id))
    assert row[rows[0].index("bedrag_euro")] == "1234.56"
    assert row[rows[0].index("status")] == "approved"


def test_a_negative_amount_is_a_number_not_a_neutralised_formula():
    text = to_people_csv(["Bedrag", "Tekst"], [[Euros(-1250), "-1+2"]])
    assert text.splitlines()[1] == "-12,50;'-1+2"


def test_the_money_page_links_both_csvs(world, make_client):  # noqa: F811
    wijk, _other, _rnd, _people, _projects = world
    page = make_client().get(f"/wijk/{wijk.slug}/geld").get_data(as_text=True)
    assert f"/wijk/{wijk.slug}/geld/uitgaven.nl.csv" in page
    assert f"/wijk/{wijk.slug}/geld/uitgaven.csv" in page
