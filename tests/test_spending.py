"""Verantwoording: funded projects, expenses with four eyes, the grant as a ceiling, reallocation,
closing with the remainder back to the wijk, the hash-chained ledger and its exports."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import is_postgres
from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import exports, operations, queries
from wijkbudget.spending.flags import flags
from wijkbudget.spending.models import (
    EntryKind,
    Expense,
    ExpenseState,
    FundedProject,
    LedgerEntry,
    PayeeType,
    ProgressUpdate,
    ProjectStatus,
    SpendingError,
)
from wijkbudget.spending.operations import progress
from wijkbudget.usecase import use_case


@pytest.fixture
def world(make_wijk, make_user, make_round, make_proposal):
    """A round with a result: two chosen proposals, each now a funded project."""
    wijk = make_wijk("Noord")
    other = make_wijk("Zuid", postcodes=((3581, 3585),), areas=("Wittevrouwen",))
    people = {
        "initiator": make_user("initiatief@example.org", wijk=wijk),
        "resident": make_user("bewoner@example.org", wijk=wijk),
        "board": make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),)),
        "board2": make_user("bestuur2@example.org", wijk=wijk, roles=((Role.BOARD, wijk),)),
        "board_other": make_user("zuid@example.org", wijk=other, roles=((Role.BOARD, other),)),
        "councillor": make_user("raad@example.org", roles=((Role.COUNCILLOR, wijk),)),
    }
    rnd = make_round(wijk, Phase.RESULT, budget=1_000_000)
    benches = make_proposal(rnd, people["initiator"], State.CHOSEN, title="Bankjes", cost=300_000)
    garden = make_proposal(rnd, people["resident"], State.CHOSEN, title="Moestuin", cost=200_000)
    operations.grant_chosen(people["board"], rnd, [benches, garden], utcnow())
    db.session.commit()
    projects = {p.proposal.title: p for p in db.session.scalars(select(FundedProject))}
    return wijk, other, rnd, people, projects


def pdf_bytes() -> bytes:
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG")
    return out.getvalue()


def expense_form(amount: str = "120,00", **overrides):
    data = {
        "spent_on": (date.today() - timedelta(days=1)).isoformat(),
        "amount": amount,
        "vat": "",
        "payee": "Bouwmarkt Noord",
        "payee_type": "company",
        "description": "Hout voor de bankjes",
        "cost_line": "",
        "receipt": (io.BytesIO(pdf_bytes()), "bon.pdf"),
    }
    data.update(overrides)
    return data


def record(client, project, **overrides):
    url = f"/projecten/{project.id}/uitgaven/nieuw"
    return client.post(url, expense_form(**overrides), page=url, content_type="multipart/form-data")


def last_expense() -> Expense:
    return db.session.scalar(select(Expense).order_by(Expense.id.desc()))


def recorded(
    who, project, cents: int = 10_000, *, payee: str = "Leverancier", description: str = "Materiaal"
) -> Expense:
    """The expense ``who`` records (with the operation) on ``project``: a company's bill, paid
    today, without a receipt; it waits for the board."""
    data = operations.ExpenseData(
        spent_on=date.today(), amount_cents=cents, payee=payee,
        payee_type=PayeeType.COMPANY, description=description,
    )  # fmt: skip
    return operations.record_expense(who, project, data, None)


# --- grants -----------------------------------------------------------------------------------


def test_a_final_result_makes_funded_projects_with_grants_in_the_ledger(world):
    wijk, _other, rnd, _people, projects = world
    assert {p: projects[p].granted_cents for p in projects} == {
        "Bankjes": 300_000,
        "Moestuin": 200_000,
    }
    entries = list(db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)))
    assert [(e.seq, e.kind, e.amount_cents) for e in entries] == [
        (1, EntryKind.GRANT, 300_000),
        (2, EntryKind.GRANT, 200_000),
    ]
    assert entries[0].prev_hash == "0" * 64 and entries[1].prev_hash == entries[0].hash
    money = queries.project_money(projects["Bankjes"])
    assert (money.granted, money.spent, money.remaining) == (300_000, 0, 300_000)
    assert operations.verify(wijk.id).ok


# --- expenses and four eyes ---------------------------------------------------------------------


def test_initiator_records_an_expense_with_a_receipt_and_another_board_member_approves(
    world, make_client
):
    wijk, _other, _rnd, people, projects = world
    project = projects["Bankjes"]
    initiator = make_client()
    initiator.login("initiatief@example.org")
    response = record(initiator, project)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    expense = last_expense()
    assert expense.state == ExpenseState.PENDING and expense.amount_cents == 12_000
    assert expense.receipt_type == "application/pdf" and expense.receipt_name.endswith(".pdf")
    assert "bon" not in expense.receipt_name  # a generated name, not the uploaded one
    # pending money is not spent
    assert queries.project_money(project).spent == 0

    board = make_client()
    board.login("bestuur@example.org")
    response = board.post(
        f"/wijk/{wijk.slug}/bestuur/uitgaven/{expense.id}/goedkeuren",
        page=f"/wijk/{wijk.slug}/bestuur/uitgaven",
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert last_expense().state == ExpenseState.APPROVED
    assert queries.project_money(project).spent == 12_000
    head = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.seq.desc()))
    assert head.kind == EntryKind.EXPENSE and head.expense_id == expense.id
    assert "expense.approve" in set(db.session.scalars(select(AuditEvent.action)))
    # the public page shows it, with the receipt
    page = make_client().get(f"/projecten/{project.id}").get_data(as_text=True)
    assert "Bouwmarkt Noord" in page and f"/uitgaven/{expense.id}/bon" in page
    receipt = make_client().get(f"/projecten/{project.id}/uitgaven/{expense.id}/bon")
    assert receipt.status_code == 200 and receipt.data.startswith(b"%PDF-")
    assert receipt.headers["X-Content-Type-Options"] == "nosniff"
    receipt.close()


def test_the_recorder_never_approves_their_own_expense(world, make_client):
    wijk, _other, _rnd, people, projects = world
    project = projects["Bankjes"]
    # a board member who is the treasurer records an expense
    operations.set_treasurer(people["board2"], project, people["board"])
    db.session.commit()
    board = make_client()
    board.login("bestuur@example.org")
    assert record(board, project).status_code == 303
    expense = last_expense()
    response = board.post(
        f"/wijk/{wijk.slug}/bestuur/uitgaven/{expense.id}/goedkeuren",
        page=f"/projecten/{project.id}",
    )
    assert response.status_code == 403
    assert "zelf ingevoerd" in response.get_data(as_text=True)
    db.session.expire_all()
    assert last_expense().state == ExpenseState.PENDING
    assert queries.project_money(project).spent == 0


def test_a_board_member_who_is_an_initiator_cannot_approve_the_projects_expenses(world):
    _wijk, _other, _rnd, people, projects = world
    project = projects["Moestuin"]
    # board2 joins the project as treasurer; the initiator records, board2 may not approve
    operations.set_treasurer(people["board"], project, people["board2"])
    expense = recorded(people["resident"], project, 5_000, payee="Tuincentrum", description="Zaden")
    db.session.commit()
    with pytest.raises(SpendingError, match="initiatiefnemer of penvoerder"):
        operations.approve_expense(people["board2"], expense)
    db.session.rollback()
    operations.approve_expense(people["board"], expense)  # a board member from outside
    db.session.commit()
    assert expense.state == ExpenseState.APPROVED


def test_only_initiators_record_and_other_wijken_cannot_touch_expenses(world, make_client):
    wijk, other, _rnd, people, projects = world
    project = projects["Bankjes"]
    resident = make_client()
    resident.login("bewoner@example.org")  # an initiator of the other project, not this one
    assert resident.get(f"/projecten/{project.id}/uitgaven/nieuw").status_code == 403
    assert record(resident, projects["Moestuin"]).status_code == 303
    expense = last_expense()
    outsider = make_client()
    outsider.login("zuid@example.org")
    # the board of another wijk: not through its own wijk's URL, not through this one's
    assert (
        outsider.post(
            f"/wijk/{other.slug}/bestuur/uitgaven/{expense.id}/goedkeuren",
            page=f"/wijk/{other.slug}/bestuur/uitgaven",
        ).status_code
        == 404
    )
    assert (
        outsider.post(
            f"/wijk/{wijk.slug}/bestuur/uitgaven/{expense.id}/goedkeuren",
            page=f"/wijk/{other.slug}/bestuur/uitgaven",
        ).status_code
        == 403
    )
    db.session.expire_all()
    assert last_expense().state == ExpenseState.PENDING


def test_bad_expense_input_gets_dutch_messages_and_keeps_nothing(world, make_client):
    _wijk, _other, _rnd, _people, projects = world
    project = projects["Bankjes"]
    initiator = make_client()
    initiator.login("initiatief@example.org")
    cases = [
        ({"amount": "veel"}, "bedrag"),
        ({"amount": "-5"}, ""),
        ({"payee": ""}, "aan wie"),
        ({"spent_on": (date.today() + timedelta(days=3)).isoformat()}, "toekomst"),
        ({"spent_on": "0001-01-01"}, "tussen 1900 en 2999"),  # (as for every date: WithinYears)
        ({"payee_type": "bank"}, "mogelijkheden"),
        ({"receipt": (io.BytesIO(b"#!/bin/sh\nrm -rf /\n"), "bon.pdf")}, "geen bon of factuur"),
        ({"receipt": (io.BytesIO(b"%PDF-1.4 not really"), "bon.pdf")}, "geen bon of factuur"),
    ]
    for overrides, message in cases:
        response = record(initiator, project, **overrides)
        assert response.status_code in (400, 422), (overrides, response.status_code)
        assert message.lower() in response.get_data(as_text=True).lower(), overrides
    assert db.session.scalar(select(func.count(Expense.id))) == 0
    # a PNG photo of a receipt is fine
    ok = record(initiator, project, receipt=(io.BytesIO(png_bytes()), "foto.png"))
    assert ok.status_code == 303
    assert last_expense().receipt_type == "image/png"


# --- the grant as a ceiling, reallocation, closing ------------------------------------------------


def test_overspend_is_refused_until_the_board_reallocates_returned_money(world):
    wijk, _other, _rnd, people, projects = world
    benches, garden = projects["Bankjes"], projects["Moestuin"]
    with pytest.raises(SpendingError, match="past niet"):
        recorded(people["initiator"], benches, 300_001)
    db.session.rollback()
    # the garden spends 150.000 of its 200.000 and closes: 50.000 back to the wijk
    spent = recorded(people["resident"], garden, 150_000)
    operations.approve_expense(people["board"], spent)
    operations.close_project(people["board"], garden, ProjectStatus.DONE, "Klaar en geoogst")
    db.session.commit()
    returned = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.seq.desc()))
    assert (returned.kind, returned.amount_cents) == (EntryKind.RETURN, 50_000)
    assert queries.project_money(garden).remaining == 0
    assert queries.wijk_available(wijk) == 50_000
    with pytest.raises(SpendingError, match="afgesloten"):
        recorded(people["resident"], garden, 100)
    db.session.rollback()
    # more than the wijk has free: refused; then 20.000 extra for the benches
    with pytest.raises(SpendingError, match="vrij geld"):
        operations.reallocate(people["board"], benches, 60_000, "Duurder hout")
    db.session.rollback()
    with pytest.raises(SpendingError, match="reden"):
        operations.reallocate(people["board"], benches, 20_000, "   ")
    db.session.rollback()
    operations.reallocate(people["board"], benches, 20_000, "Het hout werd duurder")
    db.session.commit()
    assert queries.project_money(benches).granted == 320_000
    assert queries.wijk_available(wijk) == 30_000
    big = recorded(people["initiator"], benches, 320_000)
    operations.approve_expense(people["board"], big)
    db.session.commit()
    assert queries.project_money(benches).remaining == 0
    kinds = list(db.session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.seq)))
    assert kinds == [
        EntryKind.GRANT, EntryKind.GRANT, EntryKind.EXPENSE, EntryKind.RETURN,
        EntryKind.REALLOCATION, EntryKind.EXPENSE,
    ]  # fmt: skip
    assert operations.verify(wijk.id).ok


def test_closing_waits_for_pending_expenses_and_a_reversal_is_a_new_entry(world):
    wijk, _other, _rnd, people, projects = world
    benches = projects["Bankjes"]
    pending = recorded(people["initiator"], benches, payee="Verfwinkel", description="Verf")
    db.session.commit()
    with pytest.raises(SpendingError, match="wachten nog"):
        operations.close_project(people["board"], benches, ProjectStatus.STOPPED, "Gestopt")
    db.session.rollback()
    operations.approve_expense(people["board"], pending)
    first = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.seq.desc()))
    operations.reverse_expense(people["board"], pending, "Dubbel ingevoerd")
    db.session.commit()
    correction = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.seq.desc()))
    assert correction.kind == EntryKind.CORRECTION and correction.corrects_id == first.id
    assert correction.amount_cents == -10_000
    assert queries.project_money(benches).spent == 0
    # the original entry is still there, unchanged
    assert db.session.get(LedgerEntry, first.id).amount_cents == 10_000
    operations.close_project(people["board"], benches, ProjectStatus.STOPPED, "Niet doorgegaan")
    db.session.commit()
    assert queries.project_money(benches).returned == 300_000
    assert operations.verify(wijk.id).ok


# --- the ledger ----------------------------------------------------------------------------------


def test_ledger_rows_cannot_be_changed_through_the_application(world):
    entry = db.session.scalar(select(LedgerEntry))
    entry.amount_cents = 1
    with pytest.raises(SpendingError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(LedgerEntry)))
    with pytest.raises(SpendingError):
        db.session.flush()
    db.session.rollback()


def test_verify_finds_a_row_rewritten_with_raw_sql(world, app):
    wijk, _other, _rnd, people, projects = world
    operations.reallocate  # noqa: B018 (imported API)
    bankjes = projects["Bankjes"]
    expense = recorded(people["initiator"], bankjes, 7_500, payee="Drukker", description="Flyers")
    operations.approve_expense(people["board"], expense)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "verify", "--wijk", wijk.slug])
    assert result.exit_code == 0, result.output
    count, head = result.output.split()[1:3]
    assert result.output.startswith("ok ") and count == "3"
    assert head == queries.ledger_head(wijk)[1]
    # someone edits the grant of entry 2 in the database, by hand
    second = db.session.scalar(select(LedgerEntry).where(LedgerEntry.seq == 2))
    if is_postgres():
        db.session.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER USER"))
    db.session.execute(
        text("UPDATE ledger_entry SET amount_cents = 900000 WHERE id = :id"), {"id": second.id}
    )
    if is_postgres():
        db.session.execute(text("ALTER TABLE ledger_entry ENABLE TRIGGER USER"))
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify", "--wijk", wijk.slug])
    assert result.exit_code == 1
    assert str(second.id) in result.output
    # and the audit desk says so
    verification = operations.verify(wijk.id)
    assert not verification.ok and verification.broken_id == second.id


def test_ledger_verify_over_all_wijken_and_an_unknown_wijk(world, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and result.output.startswith("ok 2 ")
    result = runner.invoke(args=["ledger", "verify", "--wijk", "nergens"])
    assert result.exit_code == 2


@pytest.mark.skipif(not is_postgres(), reason="concurrent appends: PostgreSQL")
def test_fifty_concurrent_appends_make_one_linear_chain(world, app):
    wijk, _other, _rnd, people, projects = world
    wijk_id, board_id, project_id = wijk.id, people["board"].id, projects["Bankjes"].id
    threads_count = 50
    barrier = threading.Barrier(threads_count)
    errors: list[str] = []
    lock = threading.Lock()

    def add() -> None:
        barrier.wait(timeout=60)
        with app.app_context():
            from wijkbudget.accounts.models import User

            try:
                project = db.session.get(FundedProject, project_id)
                operations.append(
                    wijk_id, EntryKind.REALLOCATION, 1, actor=db.session.get(User, board_id),
                    project=project, reason="gelijktijdig",
                )  # fmt: skip
                db.session.commit()
            except Exception as error:  # noqa: BLE001 (every failure fails the test)
                db.session.rollback()
                with lock:
                    errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    verification = operations.verify(wijk_id)
    assert verification.ok and verification.count == 2 + threads_count
    prev = list(db.session.scalars(select(LedgerEntry.prev_hash)))
    assert len(prev) == len(set(prev))


# --- privacy and transparency ------------------------------------------------------------------


def test_a_private_payees_name_and_receipt_stay_private(world, make_client):
    wijk, _other, _rnd, people, projects = world
    project = projects["Bankjes"]
    initiator = make_client()
    initiator.login("initiatief@example.org")
    record(initiator, project, payee="Jan Jansen", payee_type="private")
    expense = last_expense()
    url = f"/projecten/{project.id}/uitgaven/{expense.id}/bon"
    anonymous = make_client()
    assert anonymous.get(url).status_code == 404
    resident = make_client()
    resident.login("bewoner@example.org")
    assert resident.get(url).status_code == 404
    page = anonymous.get(f"/projecten/{project.id}").get_data(as_text=True)
    assert "Jan Jansen" not in page and "particulier" in page
    public_csv = anonymous.get(f"/wijk/{wijk.slug}/geld/uitgaven.csv").get_data(as_text=True)
    assert "Jan Jansen" not in public_csv and "particulier" in public_csv
    assert "Jan Jansen" not in anonymous.get(f"/wijk/{wijk.slug}/geld/subsidies.json").get_data(
        as_text=True
    )
    for email in ("initiatief@example.org", "bestuur@example.org", "raad@example.org"):
        reader = make_client()
        reader.login(email)
        response = reader.get(url)
        assert response.status_code == 200, email
        response.close()
    councillor = make_client()
    councillor.login("raad@example.org")
    full = councillor.get(f"/wijk/{wijk.slug}/controle/uitgaven.csv").get_data(as_text=True)
    assert "Jan Jansen" in full
    assert anonymous.get(f"/wijk/{wijk.slug}/controle/uitgaven.csv").status_code in (302, 303)


def test_exports_neutralise_formulas_and_xlsx_holds_the_csv_rows(world, make_client):
    wijk, _other, _rnd, people, projects = world
    recorded(
        people["initiator"], projects["Bankjes"], 1_000,
        payee='=HYPERLINK("http://x")', description="@SUM(A1)",
    )  # fmt: skip
    db.session.commit()
    client = make_client()
    for what in ("projecten", "uitgaven", "grootboek"):
        body = client.get(f"/wijk/{wijk.slug}/geld/{what}.csv").get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(body)))
        book = load_workbook(io.BytesIO(client.get(f"/wijk/{wijk.slug}/geld/{what}.xlsx").data))
        sheet_rows = list(book.active.iter_rows(values_only=True))
        # the workbook is for people (Dutch columns, numbers: tests/test_dutch_exports.py); it
        # holds the same rows as the CSV for programs
        assert len(sheet_rows) == len(rows), what
    expenses = list(
        csv.reader(
            io.StringIO(client.get(f"/wijk/{wijk.slug}/geld/uitgaven.csv").get_data(as_text=True))
        )
    )
    assert expenses[1][5] == '\'=HYPERLINK("http://x")' and expenses[1][7] == "'@SUM(A1)"
    assert exports.neutralise("-12.50") == "-12.50" and exports.neutralise("-x") == "'-x"


def test_grants_json_has_360giving_fields(world, make_client):
    wijk, _other, rnd, _people, _projects = world
    grants = json.loads(make_client().get(f"/wijk/{wijk.slug}/geld/subsidies.json").data)["grants"]
    assert len(grants) == 2
    first = grants[0]
    assert first["currency"] == "EUR" and first["amountAwarded"] == 3000.0
    assert first["grantProgramme"][0]["title"] == rnd.title
    assert "Bankjes" in first["recipientOrganization"][0]["name"]
    assert {"id", "awardDate", "fundingOrganization", "amountDisbursed",
            "beneficiaryLocation", "description", "title"} <= set(first)  # fmt: skip


def test_public_pages_show_the_money_and_the_ledger_seal(world, make_client):
    wijk, _other, _rnd, _people, projects = world
    client = make_client()
    page = client.get(f"/wijk/{wijk.slug}/geld").get_data(as_text=True)
    head = queries.ledger_head(wijk)[1]
    assert "boeking 2" in page and head in page and "Bankjes" in page and "<svg" in page
    ledger = client.get(f"/wijk/{wijk.slug}/geld/grootboek").get_data(as_text=True)
    assert head in ledger and "Toekenning" in ledger


def test_audit_desk_flags(world, make_client):
    wijk, _other, _rnd, people, projects = world
    bankjes = projects["Bankjes"]
    expense = recorded(
        people["initiator"], bankjes, 1_000, payee="Winkel", description="Zonder bon"
    )
    expense.recorded_at = utcnow() - timedelta(days=40)
    db.session.commit()
    kinds = {(f.kind, f.project.title) for f in flags(wijk, now=utcnow() + timedelta(days=100))}
    assert ("no-receipt", "Bankjes") in kinds and ("waiting", "Bankjes") in kinds
    assert ("quiet", "Moestuin") in kinds
    councillor = make_client()
    councillor.login("raad@example.org")
    page = councillor.get(f"/wijk/{wijk.slug}/controle")
    assert page.status_code == 200 and "Zonder bon" not in page.get_data(as_text=True)
    assert "zonder bon" in page.get_data(as_text=True).lower()
    resident = make_client()
    resident.login("bewoner@example.org")
    assert resident.get(f"/wijk/{wijk.slug}/controle").status_code == 403


def test_money_pages_use_a_fixed_number_of_queries(
    world, make_client, make_proposal, count_queries
):
    wijk, _other, rnd, people, projects = world
    client = make_client()

    def queries_for(url: str) -> int:
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    before = (
        queries_for(f"/wijk/{wijk.slug}/geld"),
        queries_for(f"/wijk/{wijk.slug}/geld/grootboek"),
    )
    extra = [
        make_proposal(rnd, people["resident"], State.CHOSEN, title=f"Extra {i}", cost=10_000)
        for i in range(5)
    ]
    operations.grant_chosen(people["board"], rnd, extra, utcnow())
    db.session.commit()
    after = (
        queries_for(f"/wijk/{wijk.slug}/geld"),
        queries_for(f"/wijk/{wijk.slug}/geld/grootboek"),
    )
    assert after == before


def test_a_councillor_sees_the_wijken_assigned_to_them(world, make_client):
    wijk, other, _rnd, _people, _projects = world
    councillor = make_client()
    councillor.login("raad@example.org")  # assigned to Noord only
    page = councillor.get("/controle").get_data(as_text=True)
    assert f"/wijk/{wijk.slug}/controle" in page and f"/wijk/{other.slug}/controle" not in page
    assert "Grootboek klopt (2 boekingen)" in page
    assert councillor.get(f"/wijk/{other.slug}/controle").status_code == 403


def test_round_summary_on_one_screen(world, make_client):
    wijk, _other, rnd, people, projects = world
    expense = recorded(people["initiator"], projects["Bankjes"], 25_000, payee="Winkel")
    operations.approve_expense(people["board"], expense)
    db.session.commit()
    summary = queries.round_summary(rnd)
    assert (summary.funded, summary.proposals, summary.money.granted, summary.money.spent) == (
        2, 2, 500_000, 25_000,
    )  # fmt: skip
    page = make_client().get(f"/wijk/{wijk.slug}/rondes/{rnd.id}/samenvatting")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r"€\s10\.000<", body) and re.search(r"€\s250,00", body)


def test_initiators_post_progress_with_photos_and_the_board_adds_milestones(world, make_client):
    _wijk, _other, _rnd, _people, projects = world
    project = projects["Bankjes"]
    url = f"/projecten/{project.id}/voortgang"
    initiator = make_client()
    initiator.login("initiatief@example.org")

    def post(client, photos, **extra):
        data = {"body": "De bankjes staan er!", "percent": "60", "alt": "Twee bankjes", **extra}
        data["photos"] = [(io.BytesIO(b), f"f{i}.png") for i, b in enumerate(photos)]
        return client.post(url, data, page=f"/projecten/{project.id}",
                           content_type="multipart/form-data")  # fmt: skip

    assert post(initiator, [png_bytes()] * 4).status_code == 422  # at most three
    assert post(initiator, [b"<?php echo 1; ?>"]).status_code == 422
    assert post(initiator, [png_bytes()], percent="140").status_code == 422
    assert post(initiator, [png_bytes(), png_bytes()]).status_code == 303
    db.session.expire_all()
    project = db.session.get(FundedProject, project.id)
    assert project.percent_done == 60 and project.status == ProjectStatus.IN_PROGRESS
    (update,) = project.updates
    assert len(update.photos) == 2 and not update.milestone
    page = make_client().get(f"/projecten/{project.id}").get_data(as_text=True)
    assert "De bankjes staan er!" in page and 'alt="Twee bankjes"' in page
    photo = make_client().get(f"/projecten/{project.id}/fotos/{update.photos[0].id}")
    assert photo.status_code == 200 and photo.mimetype == "image/png"
    photo.close()
    assert (
        make_client().get(f"/projecten/{project.id + 1}/fotos/{update.photos[0].id}").status_code
        == 404
    )
    # a resident who is no initiator may not post; a board member posts a milestone
    resident = make_client()
    resident.login("bewoner@example.org")
    assert post(resident, []).status_code == 403
    board = make_client()
    board.login("bestuur@example.org")
    assert post(board, [], body="Opgeleverd aan de wijk").status_code == 303
    db.session.expire_all()
    assert [u.milestone for u in db.session.get(FundedProject, project.id).updates] == [True, False]
    assert "project.milestone" in set(db.session.scalars(select(AuditEvent.action)))


def test_the_audit_log_filters_one_project(world, make_client):
    _wijk, _other, _rnd, people, projects = world
    for title in ("Bankjes", "Moestuin"):
        operations.set_treasurer(people["board"], projects[title], people["board2"])
    db.session.commit()
    councillor = make_client()
    councillor.login("raad@example.org")
    benches = projects["Bankjes"]
    page = councillor.get(f"/audit?subject=funded_project:{benches.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    everything = councillor.get("/audit").get_data(as_text=True)
    # the label is also an option of the "Wat" filter: one more than the events shown
    assert everything.count("Penvoerder aangewezen") == 3
    assert body.count("Penvoerder aangewezen") == 2  # this project's event, not the other's
    assert f"/projecten/{benches.id}" in councillor.get(f"/projecten/{benches.id}").get_data(
        as_text=True
    )
    assert councillor.get("/audit?subject=user_account:1").status_code == 422


def test_the_round_page_links_councillors_to_the_rounds_audit_trail(world, make_client):
    from wijkbudget.audit.operations import record

    wijk, _other, rnd, people, _projects = world
    record("round.update", actor=people["board"], role="board", obj=rnd, neighbourhood=wijk)
    record("round.update", actor=people["board"], role="board", obj=people["board"],
           neighbourhood=wijk)  # fmt: skip
    db.session.commit()
    url = f"/wijk/{wijk.slug}/rondes/{rnd.id}"
    link = f"/audit?subject=budget_round:{rnd.id}"
    assert link not in make_client().get(url).get_data(as_text=True).replace("%3A", ":")
    councillor = make_client()
    councillor.login("raad@example.org")
    assert link in councillor.get(url).get_data(as_text=True).replace("%3A", ":")
    trail = councillor.get(link).get_data(as_text=True)
    everything = councillor.get("/audit").get_data(as_text=True)
    # the label is also an option of the "Wat" filter: one more than the events shown
    assert trail.count("Ronde gewijzigd") == 2 and everything.count("Ronde gewijzigd") == 3


# --- issue 17: refusals are answers, one booking per expense, verify checks the bookings -------


def decide_url(wijk, expense, what: str) -> str:
    return f"/wijk/{wijk.slug}/bestuur/uitgaven/{expense.id}/{what}"


def pending_expense(people, project, cents: int = 10_000) -> Expense:
    return recorded(people["initiator"], project, cents)


def book_by_hand(board, expense: Expense, cents: int) -> None:
    """An expense entry for ``expense`` appended to the ledger with a perfect chain, but by no
    decision of the board: what ``verify`` must find in the bookings, not in the chain."""
    project = expense.project
    use_case(
        lambda: operations.append(
            project.neighbourhood_id, EntryKind.EXPENSE, cents, actor=board, project=project,
            expense=expense,
        )
    )()  # fmt: skip


def expense_entries(expense_id: int) -> int:
    return db.session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.expense_id == expense_id, LedgerEntry.kind == EntryKind.EXPENSE
        )
    )


def receipt_files(app) -> list:
    from wijkbudget.spending import receipts

    directory = receipts.receipt_dir(app)
    return sorted(directory.iterdir()) if directory.exists() else []


def test_an_expense_of_zero_euro_is_a_422_with_a_dutch_message(world, make_client):
    _wijk, _other, _rnd, people, projects = world
    project = projects["Bankjes"]
    initiator = make_client()
    initiator.login("initiatief@example.org")
    for amount in ("0", "0,00", "€ 0,-"):
        response = record(initiator, project, amount=amount)
        assert response.status_code == 422, amount
        assert "Het bedrag moet groter zijn dan nul." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Expense.id))) == 0
    # the operation says so too (a caller that skips the form), and so does the database
    with pytest.raises(SpendingError, match="groter zijn dan nul") as refused:
        pending_expense(people, project, cents=0)
    assert refused.value.status == 422
    expense = pending_expense(people, project)
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE expense SET amount_cents = 0 WHERE id = :id"), {"id": expense.id}
        )
    db.session.rollback()


def test_a_reallocation_of_zero_euro_is_a_422(world, make_client):
    wijk, _other, _rnd, _people, projects = world
    board = make_client()
    board.login("bestuur@example.org")
    project = projects["Bankjes"]
    response = board.post(
        f"/wijk/{wijk.slug}/bestuur/projecten/{project.id}/extra-geld",
        {"amount": "0", "reason": "Niets"},
        page=f"/projecten/{project.id}",
    )
    assert response.status_code == 422
    assert "Het bedrag moet groter zijn dan nul." in response.get_data(as_text=True)


def test_approving_twice_is_one_booking_a_double_click_succeeds_another_member_gets_409(
    world, make_client
):
    wijk, _other, _rnd, people, projects = world
    expense = pending_expense(people, projects["Bankjes"])
    board = make_client()
    board.login("bestuur@example.org")
    token = board.csrf(f"/wijk/{wijk.slug}/bestuur/uitgaven")
    url = decide_url(wijk, expense, "goedkeuren")
    first = board.post(url, {"csrf_token": token})
    again = board.post(url, {"csrf_token": token})  # the double click
    assert (first.status_code, again.status_code) == (303, 303)
    other = make_client()
    other.login("bestuur2@example.org")
    late = other.post(url, page=f"/wijk/{wijk.slug}/bestuur/uitgaven")
    assert late.status_code == 409
    assert "Over deze uitgave is al besloten: hij is goedgekeurd." in late.get_data(as_text=True)
    rejected = other.post(
        decide_url(wijk, expense, "afwijzen"),
        {"reason": "Te laat"},
        page=f"/wijk/{wijk.slug}/bestuur/uitgaven",
    )
    assert rejected.status_code == 409
    db.session.expire_all()
    assert db.session.get(Expense, expense.id).state == ExpenseState.APPROVED
    assert expense_entries(expense.id) == 1
    assert operations.verify(wijk.id).ok


def test_rejecting_and_reversing_twice_never_give_a_500(world, make_client):
    wijk, _other, _rnd, people, projects = world
    project = projects["Bankjes"]
    to_reject, to_reverse = pending_expense(people, project), pending_expense(people, project)
    operations.approve_expense(people["board"], to_reverse)
    board, other = make_client(), make_client()
    board.login("bestuur@example.org")
    other.login("bestuur2@example.org")
    page = f"/wijk/{wijk.slug}/bestuur/uitgaven"
    for what, expense in (("afwijzen", to_reject), ("terugdraaien", to_reverse)):
        token = board.csrf(page)
        url = decide_url(wijk, expense, what)
        first = board.post(url, {"csrf_token": token, "reason": "Dubbel ingevoerd"})
        again = board.post(url, {"csrf_token": token, "reason": "Dubbel ingevoerd"})
        assert (first.status_code, again.status_code) == (303, 303), what
        late = other.post(url, {"reason": "Ik ook"}, page=page)
        assert late.status_code == 409, what
        assert "al " in late.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Expense, to_reject.id).state == ExpenseState.REJECTED
    assert db.session.get(Expense, to_reverse.id).state == ExpenseState.REVERSED
    corrections = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == EntryKind.CORRECTION)
    )
    assert corrections == 1
    assert expense_entries(to_reject.id) == 0
    # a rejected expense is not turned back: a plain refusal
    with pytest.raises(SpendingError, match="Alleen een goedgekeurde") as refused:
        operations.reverse_expense(people["board"], to_reject, "Toch niet")
    assert refused.value.status == 422
    assert operations.verify(wijk.id).ok


def test_closing_twice_is_a_409(world, make_client):
    wijk, _other, _rnd, _people, projects = world
    project = projects["Moestuin"]
    board = make_client()
    board.login("bestuur@example.org")
    token = board.csrf(f"/projecten/{project.id}")
    url = f"/wijk/{wijk.slug}/bestuur/projecten/{project.id}/afsluiten"
    form = {"csrf_token": token, "status": "stopped", "note": "Gaat niet door"}
    assert board.post(url, form).status_code == 303
    again = board.post(url, form)
    assert again.status_code == 409
    assert "al afgesloten" in again.get_data(as_text=True)
    returns = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == EntryKind.RETURN)
    )
    assert returns == 1


def test_the_database_allows_one_expense_entry_per_expense(world):
    """The partial unique index really exists: a second entry of kind 'expense' for one expense,
    written behind the application's back (a well-formed row, next in the chain), is refused;
    an entry of another kind for the same expense (its correction) is not."""
    wijk, _other, _rnd, people, projects = world
    expense = pending_expense(people, projects["Bankjes"])
    first = operations.approve_expense(people["board"], expense)
    db.session.expire_all()

    def insert(kind: str, seq: int, prev: str) -> None:
        db.session.execute(
            text(
                "INSERT INTO ledger_entry (neighbourhood_id, seq, kind, amount_cents, project_id,"
                " expense_id, reason, created_at, prev_hash, hash) VALUES (:w, :seq, :kind, :a,"
                " :p, :e, '', :t, :prev, :hash)"
            ),
            {
                "w": wijk.id, "seq": seq, "kind": kind, "a": 10_000, "p": expense.project_id,
                "e": expense.id, "t": utcnow(), "prev": prev, "hash": f"{seq:064d}",
            },
        )  # fmt: skip

    with pytest.raises(IntegrityError) as refused:
        insert("expense", first.seq + 1, first.hash)
    assert "uq_ledger_entry_expense" in str(refused.value) or "UNIQUE" in str(refused.value)
    db.session.rollback()
    insert("correction", first.seq + 1, first.hash)  # the index is partial
    db.session.rollback()
    # and through the application: a refused constraint is a Conflict (409), not a 500
    from wijkbudget.usecase import Conflict

    with pytest.raises(Conflict):
        book_by_hand(people["board"], expense, 10_000)
    assert expense_entries(expense.id) == 1


def test_verify_reports_bookings_that_disagree_with_the_expenses(world, app, make_client):
    """An intact hash chain is not enough: the ledger must say what the expenses say."""
    wijk, _other, _rnd, people, projects = world
    project = projects["Bankjes"]
    runner = app.test_cli_runner()
    approved = pending_expense(people, project, cents=7_000)
    operations.approve_expense(people["board"], approved)
    assert operations.verify(wijk.id).ok
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0

    # 1. an entry for an expense that is still pending, appended with a perfect chain
    waiting = pending_expense(people, project, cents=3_000)
    book_by_hand(people["board"], waiting, 3_000)
    result = operations.verify(wijk.id)
    assert not result.ok and result.broken_id is None and result.expense_id == waiting.id
    assert "staat 1 keer als uitgave" in result.problem and "hoort 0 en 0" in result.problem
    cli = runner.invoke(args=["ledger", "verify", "--wijk", wijk.slug])
    assert (
        cli.exit_code == 1 and cli.output.startswith("mismatch") and str(waiting.id) in cli.output
    )
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 1
    councillor = make_client()
    councillor.login("raad@example.org")
    desk = councillor.get(f"/wijk/{wijk.slug}/controle").get_data(as_text=True)
    assert "klopt niet met de uitgaven" in desk and f"Uitgave {waiting.id} " in desk
    assert "Grootboek klopt" not in councillor.get("/controle").get_data(as_text=True)


def test_verify_reports_an_expense_booked_twice_and_an_approval_without_booking(world, app):
    wijk, _other, _rnd, people, projects = world
    project = projects["Bankjes"]
    twice = pending_expense(people, project, cents=4_000)
    operations.approve_expense(people["board"], twice)
    index = next(i for i in LedgerEntry.__table__.indexes if i.name == "uq_ledger_entry_expense")
    # the database as it was before issue 17: without the index, a double booking got in
    db.session.commit()
    index.drop(db.engine)
    try:
        book_by_hand(people["board"], twice, 4_000)
        result = operations.verify(wijk.id)
        assert not result.ok and result.expense_id == twice.id
        assert "staat 2 keer als uitgave" in result.problem and "hoort 1 en 0" in result.problem
        cli = app.test_cli_runner().invoke(args=["ledger", "verify", "--wijk", wijk.slug])
        assert cli.exit_code == 1 and "mismatch" in cli.output
    finally:
        db.session.rollback()
        with db.engine.begin() as connection:  # the test database has no append-only trigger
            connection.execute(
                text(
                    "DELETE FROM ledger_entry WHERE id = (SELECT max(id) FROM ledger_entry "
                    "WHERE expense_id = :e)"
                ),
                {"e": twice.id},
            )
        index.create(db.engine)
    assert operations.verify(wijk.id).ok
    # an expense marked approved behind the application's back, with no booking
    lost = pending_expense(people, project, cents=1_000)
    db.session.execute(
        text("UPDATE expense SET state = 'approved' WHERE id = :id"), {"id": lost.id}
    )
    db.session.commit()
    result = operations.verify(wijk.id)
    assert not result.ok and result.expense_id == lost.id and "staat 0 keer" in result.problem
    # a booking with the wrong amount: counts right, amount wrong
    db.session.execute(text("UPDATE expense SET state = 'pending' WHERE id = :id"), {"id": lost.id})
    db.session.execute(
        text("UPDATE expense SET amount_cents = 4001 WHERE id = :id"), {"id": twice.id}
    )
    db.session.commit()
    result = operations.verify(wijk.id)
    assert not result.ok and result.expense_id == twice.id
    assert "ander bedrag" in result.problem


def test_a_failed_recording_leaves_no_receipt_on_disk(world, app):
    """The receipt is written before the commit: when the use case fails after that, the file
    goes again (here a VAT below zero, which only the database refuses)."""
    from werkzeug.datastructures import FileStorage

    from wijkbudget.usecase import Conflict

    _wijk, _other, _rnd, people, projects = world
    data = operations.ExpenseData(
        spent_on=date.today(), amount_cents=1_000, payee="Winkel",
        payee_type=PayeeType.COMPANY, description="Iets", vat_cents=-1,
    )  # fmt: skip
    upload = FileStorage(io.BytesIO(pdf_bytes()), filename="bon.pdf")
    with pytest.raises(Conflict):
        operations.record_expense(people["initiator"], projects["Bankjes"], data, upload)
    assert receipt_files(app) == []
    assert db.session.scalar(select(func.count(Expense.id))) == 0
    # the same upload, used again (as a retried use case does), is read from its first byte
    data.vat_cents = None
    expense = operations.record_expense(people["initiator"], projects["Bankjes"], data, upload)
    assert [p.name for p in receipt_files(app)] == [expense.receipt_name]


def test_a_failed_update_leaves_no_photos_on_disk(world, app, monkeypatch):
    from werkzeug.datastructures import FileStorage

    from wijkbudget import images

    _wijk, _other, _rnd, people, projects = world

    def broken_audit(*args, **kwargs):
        raise RuntimeError("the audit log is gone")

    monkeypatch.setattr(progress, "record", broken_audit)  # only a milestone is logged
    photos = [FileStorage(io.BytesIO(png_bytes()), filename=f"f{i}.png") for i in range(2)]
    with pytest.raises(RuntimeError):
        operations.add_update(people["board"], projects["Bankjes"], "Mijlpaal", 50, photos=photos)
    directory = images.upload_dir(app)
    assert not directory.exists() or [p for p in directory.iterdir() if p.is_file()] == []
    assert db.session.scalar(select(func.count(ProgressUpdate.id))) == 0
