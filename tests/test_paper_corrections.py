"""Correcting paper entry (issue 21, part 4): one sheet struck out with a reason while its batch
is open (its ballot and participation go, the code or account can vote again, the address's
place comes back), four eyes that also exclude whoever struck or entered a sheet, a batch whose
count differs confirmed only with a reason, a discard only when asked for and with a reason,
everything in the audit log; and a confirmed sheet no longer linked to its rows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.usecase import Conflict
from wijkbudget.voting import operations, queries, register
from wijkbudget.voting.models import (
    Channel,
    PaperBatch,
    PaperSheet,
    Participation,
    SealedBallot,
    VoterFingerprint,
    VotingError,
)

REASON = "Verkeerde stemcode ingetypt"


@pytest.fixture
def zuid(make_wijk):
    return make_wijk("Zuid", postcodes=((3521, 3525),), areas=("Hoograven",))


@pytest.fixture
def henk(zuid, make_user):
    """On the board: begins the batches and enters their sheets."""
    return make_user("henk@zuid.example", wijk=zuid, name="Henk", roles=((Role.BOARD, zuid),))


@pytest.fixture
def ria(zuid, make_user):
    """On the board: strikes sheets out, or confirms."""
    return make_user("ria@zuid.example", wijk=zuid, name="Ria", roles=((Role.BOARD, zuid),))


@pytest.fixture
def jan(zuid, make_user):
    """On the board: the third pair of eyes."""
    return make_user("jan@zuid.example", wijk=zuid, name="Jan", roles=((Role.BOARD, zuid),))


@pytest.fixture
def paper_round(zuid, henk, make_round, make_proposal):
    """A round of codes in voting: Speeltuin (€ 3.000), Bankjes (€ 1.000); budget € 5.000."""
    rnd = make_round(zuid, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.eligibility = Eligibility.CODES
    proposals = [
        make_proposal(rnd, henk, State.ADMITTED, title="Speeltuin", cost=300_000, commit=False),
        make_proposal(rnd, henk, State.ADMITTED, title="Bankjes", cost=100_000, commit=False),
    ]
    db.session.commit()
    return rnd, proposals


@pytest.fixture
def codes(paper_round, henk):
    rnd, _proposals = paper_round
    made = operations.batch_codes(operations.generate_codes(henk, rnd, 6))
    db.session.commit()
    return made


def batch_of(henk, rnd, proposals, codes, declared=None):
    """A batch with one sheet per code (each for the first proposal)."""
    batch = operations.open_paper_batch(henk, rnd, "Buurthuis", declared or len(codes))
    for code in codes:
        operations.enter_sheet(henk, rnd, batch, code, {proposals[0].id: 1})
    return db.session.get(PaperBatch, batch.id)


def sheet(batch, number) -> PaperSheet:
    db.session.expire_all()
    return db.session.scalar(
        select(PaperSheet).where(PaperSheet.batch_id == batch.id, PaperSheet.number == number)
    )


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit(action: str) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent.after).where(AuditEvent.action == action)))


# --- striking one sheet out -------------------------------------------------------------------


def test_a_struck_sheet_no_longer_counts_and_its_code_votes_again(
    paper_round, codes, henk, ria, jan
):
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:3])
    second = sheet(batch, 2)
    participation_id, ballot_id = second.participation_id, second.sealed_ballot_id
    assert participation_id is not None and ballot_id is not None
    assert operations.find_code(rnd, codes[1]) is None  # used by sheet 2

    assert operations.strike_sheet(ria, rnd, batch, 2, f"  {REASON}\n ") is True

    struck = sheet(batch, 2)
    assert struck.struck_at is not None and struck.struck_by_id == ria.id
    assert struck.struck_reason == REASON  # on one line
    assert struck.participation_id is None and struck.sealed_ballot_id is None
    assert db.session.get(Participation, participation_id) is None
    assert db.session.get(SealedBallot, ballot_id) is None
    assert queries.sheets_entered(batch) == 2
    # the code can vote again: on a new sheet (number 4), or online
    assert operations.find_code(rnd, codes[1]) is not None
    operations.enter_sheet(henk, rnd, batch, codes[1], {proposals[1].id: 1})
    assert sheet(batch, 4).struck_at is None
    assert queries.sheets_entered(batch) == 3
    # the audit line says which sheet and why (and not what it chose)
    (line,) = audit("paper.strike")
    assert "stembiljet=2" in line and REASON in line
    assert line == f"stembiljet=2, reden={REASON}"
    # the count matches again: a third member confirms without a reason
    operations.confirm_paper_batch(jan, rnd, batch)
    assert count(SealedBallot, SealedBallot.paper_batch_id == batch.id, SealedBallot.counted) == 3


def test_a_struck_account_sheet_takes_its_mailbox_fingerprint_with_it(
    zuid, paper_round, henk, ria, make_user
):
    rnd, proposals = paper_round
    rnd.eligibility = Eligibility.ACCOUNTS_AND_CODES
    kees = make_user("kees@zuid.example", wijk=zuid)
    batch = operations.open_paper_batch(henk, rnd, "Markt", 1)
    operations.enter_sheet(henk, rnd, batch, kees.email, {proposals[0].id: 1})
    assert count(VoterFingerprint, VoterFingerprint.round_id == rnd.id) == 1
    with pytest.raises(operations.AlreadyVoted):
        operations.cast(rnd, {proposals[1].id: 1}, user=kees, channel=Channel.ONLINE)

    operations.strike_sheet(ria, rnd, batch, 1, "Dit was het adres van de buurman")
    assert count(VoterFingerprint, VoterFingerprint.round_id == rnd.id) == 0
    assert count(Participation, Participation.round_id == rnd.id) == 0
    operations.cast(rnd, {proposals[1].id: 1}, user=kees, channel=Channel.ONLINE)
    db.session.commit()
    assert count(Participation, Participation.user_id == kees.id) == 1


def test_a_struck_sheet_gives_its_address_its_place_back(
    zuid, henk, ria, make_round, make_proposal, make_user
):
    rnd = make_round(zuid, Phase.REVIEW, budget=500_000, max_cost=400_000)
    rnd.eligibility = Eligibility.ACCOUNTS
    proposal = make_proposal(rnd, henk, State.ADMITTED, title="Speeltuin", cost=300_000)
    register.upload_register(henk, rnd, b"3521 AB;20;1\n")
    rnd.phase = Phase.VOTING
    db.session.commit()
    one, two = make_user("een@zuid.example", wijk=zuid), make_user("twee@zuid.example", wijk=zuid)
    for user in (one, two):
        register.set_voting_address(user, rnd, "3521 AB", "20")
    batch = operations.open_paper_batch(henk, rnd, "Markt", 1)
    operations.enter_sheet(henk, rnd, batch, one.email, {proposal.id: 1})
    db.session.expire_all()
    assert register.find_address(rnd.id, "3521 AB", "20").used == 1
    with pytest.raises(register.AddressFull):
        operations.enter_sheet(henk, rnd, batch, two.email, {proposal.id: 1})

    operations.strike_sheet(ria, rnd, batch, 1, "Stembiljet van de verkeerde bewoner")
    db.session.expire_all()
    assert register.find_address(rnd.id, "3521 AB", "20").used == 0
    operations.enter_sheet(henk, rnd, batch, two.email, {proposal.id: 1})
    db.session.expire_all()
    assert register.find_address(rnd.id, "3521 AB", "20").used == 1


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Schrijf op waarom"),
        ("   \n ", "Schrijf op waarom"),
        ("fout", "minstens 10 tekens"),
        ("x" * 501, "te lang"),
    ],
)
def test_a_sheet_is_struck_only_with_a_reason(paper_round, codes, henk, ria, reason, message):
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:1])
    with pytest.raises(VotingError, match=message):
        operations.strike_sheet(ria, rnd, batch, 1, reason)
    assert sheet(batch, 1).struck_at is None
    assert queries.sheets_entered(batch) == 1 and audit("paper.strike") == []


def test_striking_twice_a_missing_sheet_or_in_a_closed_batch(paper_round, codes, henk, ria, jan):
    """The same member twice: nothing more happens (a double click); another member: 409 with
    who was first and why; a number not in the batch: refused; a confirmed or discarded
    batch: 409."""
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:2])
    assert operations.strike_sheet(ria, rnd, batch, 1, REASON) is True
    assert operations.strike_sheet(ria, rnd, batch, 1, "Nog een keer gedrukt") is False
    with pytest.raises(Conflict, match=f"al doorgestreept.*{REASON}"):
        operations.strike_sheet(jan, rnd, batch, 1, "Ik zag het ook al, fout")
    assert len(audit("paper.strike")) == 1 and sheet(batch, 1).struck_by_id == ria.id
    with pytest.raises(VotingError, match="Stembiljet 7 staat niet in deze stapel"):
        operations.strike_sheet(ria, rnd, batch, 7, REASON)

    operations.confirm_paper_batch(jan, rnd, batch, reason="Er was er één dubbel ingevoerd")
    with pytest.raises(Conflict, match="al bevestigd"):
        operations.strike_sheet(ria, rnd, batch, 2, REASON)
    other = batch_of(henk, rnd, proposals, codes[2:3])
    operations.discard_paper_batch(ria, rnd, other, "Stembus was niet verzegeld")
    with pytest.raises(Conflict, match="al weggegooid"):
        operations.strike_sheet(ria, rnd, other, 1, REASON)


def test_only_the_board_of_the_wijk_strikes(paper_round, codes, henk, make_user):
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:1])
    someone = make_user("bewoner@zuid.example")
    with pytest.raises(VotingError, match="Alleen het bestuur"):
        operations.strike_sheet(someone, rnd, batch, 1, REASON)
    assert sheet(batch, 1).struck_at is None


# --- four eyes and the count -----------------------------------------------------------------


def test_who_entered_or_struck_a_sheet_does_not_confirm(paper_round, codes, henk, ria, jan):
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:2], declared=3)
    operations.enter_sheet(jan, rnd, batch, codes[2], {proposals[1].id: 1})  # Jan enters one
    operations.strike_sheet(ria, rnd, batch, 1, REASON)  # Ria strikes one
    operations.enter_sheet(henk, rnd, batch, codes[0], {proposals[1].id: 1})
    for who, message in (
        (henk, "Een ander bestuurslid"),
        (ria, "doorgestreept"),
        (jan, "ingevoerd"),
    ):
        with pytest.raises(VotingError, match=message):
            operations.confirm_paper_batch(who, rnd, batch)
    assert db.session.get(PaperBatch, batch.id).confirmed_at is None


def test_a_count_that_differs_is_confirmed_only_with_a_reason(paper_round, codes, henk, ria):
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:3], declared=2)  # one more than the sheet says
    with pytest.raises(VotingError) as refused:
        operations.confirm_paper_batch(ria, rnd, batch)
    assert "3 stembiljetten ingevoerd" in refused.value.message
    assert "op de telstaat staan er 2" in refused.value.message
    with pytest.raises(VotingError, match="minstens 10 tekens"):
        operations.confirm_paper_batch(ria, rnd, batch, reason="telfout")
    assert db.session.get(PaperBatch, batch.id).confirmed_at is None
    assert audit("paper.confirm") == []

    reason = "De telstaat was verkeerd opgeteld"
    operations.confirm_paper_batch(ria, rnd, batch, reason=reason)
    confirmed = db.session.get(PaperBatch, batch.id)
    assert confirmed.confirmed_at is not None and confirmed.mismatch_reason == reason
    (line,) = audit("paper.confirm")
    assert "aantal=3" in line and "telstaat=2" in line and reason in line
    assert count(SealedBallot, SealedBallot.paper_batch_id == batch.id, SealedBallot.counted) == 3


def test_a_reason_is_not_kept_when_the_count_matches(paper_round, codes, henk, ria):
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:2])
    operations.confirm_paper_batch(ria, rnd, batch, reason="Niets bijzonders te melden")
    assert db.session.get(PaperBatch, batch.id).mismatch_reason is None
    (line,) = audit("paper.confirm")
    assert "reden" not in line


def test_confirming_unlinks_every_sheet_from_its_rows(paper_round, codes, henk, ria, jan):
    """Ballot secrecy: while the batch is open a sheet knows its participation and sealed
    ballot (to strike it out); a confirmed sheet only says that it was entered."""
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:3])
    operations.strike_sheet(jan, rnd, batch, 3, REASON)
    assert count(PaperSheet, PaperSheet.batch_id == batch.id,
                 PaperSheet.sealed_ballot_id.is_not(None)) == 2  # fmt: skip
    operations.confirm_paper_batch(ria, rnd, batch, reason="Eén stembiljet was dubbel ingevoerd")
    assert count(PaperSheet, PaperSheet.batch_id == batch.id) == 3
    assert count(PaperSheet, PaperSheet.participation_id.is_not(None)) == 0
    assert count(PaperSheet, PaperSheet.sealed_ballot_id.is_not(None)) == 0
    # the page still says how many were entered, once the batch ended
    assert queries.sheets_entered(db.session.get(PaperBatch, batch.id)) == 2


def test_a_discard_needs_a_reason_and_keeps_it(paper_round, codes, henk, ria):
    rnd, proposals = paper_round
    batch = batch_of(henk, rnd, proposals, codes[:2])
    with pytest.raises(VotingError, match="Schrijf op waarom"):
        operations.discard_paper_batch(ria, rnd, batch, "")
    assert queries.sheets_entered(batch) == 2
    operations.discard_paper_batch(ria, rnd, batch, "De stembus was niet verzegeld")
    discarded = db.session.get(PaperBatch, batch.id)
    assert discarded.discarded_at is not None
    assert discarded.discard_reason == "De stembus was niet verzegeld"
    (line,) = audit("paper.discard")
    assert "niet verzegeld" in line
    assert operations.find_code(rnd, codes[0]) is not None


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def pages(zuid, paper_round, henk, ria, make_client):
    rnd, _proposals = paper_round
    henk_client, ria_client = make_client(), make_client()
    henk_client.login(henk.email)
    ria_client.login(ria.email)
    base = f"/wijk/{zuid.slug}/bestuur/rondes/{rnd.id}/papier"
    return base, henk_client, ria_client


def sheets_section(html: str) -> str:
    """The list of entered sheets on the batch's page."""
    start = html.index('id="stembiljetten"')
    return html[start : html.index('id="bevestigen"', start)]


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_the_batch_page_lists_sheets_and_strikes_one_out(
    paper_round, codes, pages, htmx, henk, ria
):
    rnd, proposals = paper_round
    base, henk_client, ria_client = pages
    headers = {"HX-Request": "true", "HX-Boosted": "true"} if htmx else {}
    url = henk_client.post(base, {"label": "Buurthuis", "declared": "2"}, page=base)
    url = url.headers["Location"]
    for code, proposal in ((codes[0], proposals[0]), (codes[1], proposals[1])):
        data = {"identifier": code, "p": str(proposal.id)}
        assert henk_client.post(url, data, page=url, headers=headers).status_code == 303
    html = ria_client.get(url).get_data(as_text=True)
    assert "Ingevoerd: 2 van 2." in html
    listed = sheets_section(html)
    assert 'id="stembiljet-1"' in listed and 'id="stembiljet-2"' in listed
    assert "Henk" in listed
    # what a sheet chose is not shown back
    assert "Speeltuin" not in listed and "Bankjes" not in listed
    assert "Stembiljet 2 doorstrepen" in listed

    # without a reason: refused, the form open again by that sheet with the message
    refused = ria_client.post(url, {"action": "strike", "number": "2", "reason": ""}, page=url,
                              headers=headers)  # fmt: skip
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Schrijf op waarom" in body
    assert re.search(r'<details class="inline-details" open>', body)
    assert 'aria-invalid="true"' in body
    assert queries.sheets_entered(db.session.get(PaperBatch, int(url.rsplit("/", 1)[1]))) == 2

    done = ria_client.post(url, {"action": "strike", "number": "2", "reason": REASON}, page=url,
                           headers=headers)  # fmt: skip
    assert done.status_code == 303
    html = ria_client.get(url).get_data(as_text=True)
    assert "Stembiljet 2 is doorgestreept" in html
    assert "Ingevoerd: 1 van 2." in html
    # the confirm part shows every struck sheet: number, who, why
    assert f"Stembiljet 2, door Ria: {REASON}" in html
    assert "Stembiljet 2 doorstrepen" not in html
    # a number that is no number, or none
    for number in ("twee", ""):
        response = ria_client.post(url, {"action": "strike", "number": number, "reason": REASON},
                                   page=url)  # fmt: skip
        assert response.status_code == 422


def test_the_page_refuses_a_mismatched_batch_without_a_reason(paper_round, codes, pages):
    rnd, proposals = paper_round
    base, henk_client, ria_client = pages
    url = henk_client.post(base, {"label": "Markt", "declared": "3"}, page=base)
    url = url.headers["Location"]
    for code in codes[:2]:
        data = {"identifier": code, "p": str(proposals[0].id)}
        assert henk_client.post(url, data, page=url).status_code == 303
    page = ria_client.get(url).get_data(as_text=True)
    assert "Het aantal klopt niet: er zijn 2 stembiljetten ingevoerd" in page
    assert 'aria-required="true"' in page

    refused = ria_client.post(url, {"action": "confirm", "reason": ""}, page=url)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Er zijn 2 stembiljetten ingevoerd, maar op de telstaat staan er 3" in body
    assert db.session.get(PaperBatch, int(url.rsplit("/", 1)[1])).confirmed_at is None

    reason = "Eén stembiljet was leeg en is niet ingevoerd"
    confirmed = ria_client.post(url, {"action": "confirm", "reason": reason}, page=url)
    assert confirmed.status_code == 303
    page = ria_client.get(url).get_data(as_text=True)
    assert "Deze stemmen tellen mee" in page and reason in page


def test_the_page_discards_only_when_asked_and_with_a_reason(paper_round, codes, pages):
    rnd, proposals = paper_round
    base, henk_client, ria_client = pages
    url = henk_client.post(base, {"label": "Markt", "declared": "1"}, page=base)
    url = url.headers["Location"]
    data = {"identifier": codes[0], "p": str(proposals[0].id)}
    assert henk_client.post(url, data, page=url).status_code == 303
    batch_id = int(url.rsplit("/", 1)[1])
    for form, message in (
        ({"action": "discard"}, "Zet een vinkje"),
        ({"action": "discard", "reason": "De stembus was open"}, "Zet een vinkje"),
        ({"action": "discard", "sure": "y"}, "Schrijf op waarom"),
    ):
        response = ria_client.post(url, form, page=url)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(PaperBatch, batch_id).discarded_at is None
    # the typed reason comes back with the refusal
    response = ria_client.post(url, {"action": "discard", "reason": "De stembus was open"},
                               page=url)  # fmt: skip
    assert "De stembus was open</textarea>" in response.get_data(as_text=True)
    form = {"action": "discard", "sure": "y", "reason": "De stembus was open"}
    assert ria_client.post(url, form, page=url).status_code == 303
    page = ria_client.get(url).get_data(as_text=True)
    assert "Weggegooid" in page and "De stembus was open" in page
    assert audit("paper.discard") == ["reden=De stembus was open"]


def test_struck_reasons_are_shown_as_text(paper_round, codes, henk, pages):
    rnd, proposals = paper_round
    base, _henk_client, ria_client = pages
    batch = batch_of(henk, rnd, proposals, codes[:1])
    operations.strike_sheet(henk, rnd, batch, 1, "<script>alert(1)</script> & zo")
    db.session.commit()
    html = ria_client.get(f"{base}/{batch.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; zo" in html
