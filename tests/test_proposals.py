"""Bewonersbod proposals: writing and submitting, bad input, photos, IDOR, co-submitters, the
board's public review, supports and the public list."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, insert, select

from tests.conftest import link_in, mail_body
from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals import operations
from wijkbudget.proposals.models import (
    Action,
    CostLine,
    Proposal,
    ProposalImage,
    State,
    Support,
)
from wijkbudget.proposals.operations import coauthors, photos
from wijkbudget.rounds import operations as rounds
from wijkbudget.rounds.models import Phase, Round


@pytest.fixture
def fatima(west, make_user):
    return make_user("fatima@example.org", wijk=west, name="Fatima")


@pytest.fixture
def rnd(west, make_round):
    return make_round(west, Phase.SUBMISSION)


def signed_in(make_client, user):
    client = make_client()
    client.login(user.email)
    return client


def proposal_form(rnd: Round, **overrides: object) -> dict[str, object]:
    data = {
        "title": "Bloembakken in de Kanaalstraat",
        "summary": "Zes bloembakken met vaste planten, onderhouden door de buren.",
        "description": "Wij zorgen voor **water** en onderhoud.",
        "category": str(rnd.categories[0].id),
        "area": "",
        "location": "Kanaalstraat 10-40",
        "cost_lines-0-item": "Zes bakken",
        "cost_lines-0-amount": "1.200,00",
        "cost_lines-1-item": "Planten en aarde",
        "cost_lines-1-amount": "450",
        "action": "submit",
    }
    data.update(overrides)
    return data


def only_proposal() -> Proposal | None:
    return db.session.scalar(select(Proposal))


# --- writing and submitting ------


def test_resident_submits_a_proposal(west, rnd, fatima, make_client, client):
    me = signed_in(make_client, fatima)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen/nieuw"
    assert "Kostenpost 1: waaraan" in me.get(page).get_data(as_text=True)
    response = me.post(page, proposal_form(rnd), page=page)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    proposal = only_proposal()
    assert proposal.state == State.SUBMITTED and proposal.submitter_id == fatima.id
    assert proposal.cost_cents == 165_000
    assert [(line.description, line.amount_cents) for line in proposal.cost_lines] == [
        ("Zes bakken", 120_000),
        ("Planten en aarde", 45_000),
    ]
    body = client.get(f"/voorstellen/{proposal.id}").get_data(as_text=True)
    assert "Bloembakken in de Kanaalstraat" in body and "1.650,00" in body
    assert "<strong>water</strong>" in body and "Ingediend" in body


def test_concept_is_private_until_submitted(west, rnd, fatima, make_user, make_client, client):
    me = signed_in(make_client, fatima)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen/nieuw"
    assert me.post(page, proposal_form(rnd, action="concept"), page=page).status_code == 303
    proposal = only_proposal()
    assert proposal.state == State.CONCEPT
    assert client.get(f"/voorstellen/{proposal.id}").status_code == 404
    other = signed_in(make_client, make_user("b@example.org", wijk=west))
    assert other.get(f"/voorstellen/{proposal.id}").status_code == 404
    assert "Bloembakken" not in client.get(
        f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen"
    ).get_data(as_text=True)
    response = me.post(
        f"/voorstellen/{proposal.id}/indienen", {}, page=f"/voorstellen/{proposal.id}"
    )
    assert response.status_code == 303
    assert client.get(f"/voorstellen/{proposal.id}").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cost_lines-0-amount": "20.000"}, "mag een voorstel tussen"),
        ({"cost_lines-0-amount": "10", "cost_lines-1-amount": "5"}, "mag een voorstel tussen"),
        ({"cost_lines-1-amount": ""}, "omschrijving én een bedrag"),
        ({"cost_lines-0-item": ""}, "omschrijving én een bedrag"),
        (
            {
                "cost_lines-0-item": "",
                "cost_lines-0-amount": "",
                "cost_lines-1-item": "",
                "cost_lines-1-amount": "",
            },
            "minstens één kostenpost",
        ),
        ({"cost_lines-0-amount": "veel"}, "geen bedrag"),
        ({"cost_lines-0-amount": "0"}, "meer dan € 0"),
        ({"title": "x" * 10_000}, "Hoogstens 120 tekens"),
        ({"title": ""}, "Geef je voorstel een titel"),
        ({"summary": "y" * 301}, "Hoogstens 300 tekens"),
        ({"category": "99999"}, "Kies een van de mogelijkheden"),
        ({"area": "99999"}, "Kies een van de mogelijkheden"),
        ({"location": "plek\x00"}, "onleesbare tekens"),
    ],
)
def test_bad_proposal_input_is_explained_and_kept(
    west, rnd, fatima, make_client, overrides, message
):
    me = signed_in(make_client, fatima)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen/nieuw"
    response = me.post(page, proposal_form(rnd, **overrides), page=page)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    if "summary" not in overrides:
        assert "Zes bloembakken met vaste planten" in body  # what was typed stays in the form
    assert only_proposal() is None


def test_submitting_outside_indienen_is_refused(west, rnd, fatima, make_client):
    rnd.phase = Phase.REVIEW
    db.session.commit()
    me = signed_in(make_client, fatima)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen/nieuw"
    response = me.post(page, proposal_form(rnd), page=page)
    assert response.status_code == 403
    assert "alleen in de fase" in response.get_data(as_text=True)
    assert only_proposal() is None


def test_only_residents_of_the_wijk_may_propose(west, oost, rnd, make_user, make_client):
    outsider = make_user("oost@example.org", wijk=oost)
    unverified = make_user("nieuw@example.org", wijk=west, verified=False)
    for user in (outsider, unverified):
        client = signed_in(make_client, user)
        page = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen/nieuw"
        response = client.post(page, proposal_form(rnd), page=page)
        assert response.status_code == 403 and "Alleen bewoners van wijk West" in response.get_data(
            as_text=True
        )
    assert only_proposal() is None


# --- people who work in the wijk ------------------------------------------------------------------


@pytest.fixture
def worker(oost, west, make_user):
    """Lives in Oost, works in West."""
    return make_user("werk@example.org", wijk=oost, name="Wim", work_wijk=west)


WORKERS_TOO = "Alleen bewoners van wijk West, en in deze ronde ook mensen die er werken"


def test_someone_who_works_in_the_wijk_proposes_when_the_round_lets_workers_in(
    west, oost, worker, fatima, make_round, make_user, make_client
):
    open_round = make_round(west, title="Voor iedereen", workers_eligible=True)
    residents_round = make_round(west, title="Alleen bewoners")
    oost_round = make_round(oost, title="Oost", workers_eligible=True)
    me = signed_in(make_client, worker)

    # a round of West for residents only: refused, and told who may
    page = f"/wijk/{west.slug}/rondes/{residents_round.id}/voorstellen/nieuw"
    response = me.post(page, proposal_form(residents_round), page="/")
    assert response.status_code == 403
    assert "Alleen bewoners van wijk West met een bevestigd account" in response.get_data(
        as_text=True
    )
    # the round page says the same instead of offering the button
    body = me.get(f"/wijk/{west.slug}/rondes/{residents_round.id}").get_data(as_text=True)
    assert "Alleen bewoners van wijk West met een bevestigd account" in body
    assert only_proposal() is None

    # the round of West open to workers: in
    page = f"/wijk/{west.slug}/rondes/{open_round.id}/voorstellen/nieuw"
    assert me.get(page).status_code == 200
    response = me.post(page, proposal_form(open_round), page=page)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    proposal = only_proposal()
    assert proposal.round_id == open_round.id and proposal.submitter_id == worker.id
    assert proposal.state == State.SUBMITTED

    # a round of the wijk they live in still works for them as a resident; a round of a wijk
    # where they neither live nor work does not, and an outsider is told workers may too
    assert me.get(f"/wijk/{oost.slug}/rondes/{oost_round.id}/voorstellen/nieuw").status_code == 200
    outsider = signed_in(make_client, make_user("oost@example.org", wijk=oost))
    response = outsider.post(
        f"/wijk/{west.slug}/rondes/{open_round.id}/voorstellen/nieuw",
        proposal_form(open_round),
        page="/",
    )
    assert response.status_code == 403 and WORKERS_TOO in response.get_data(as_text=True)
    # and the residents of West are unaffected
    resident = signed_in(make_client, fatima)
    page = f"/wijk/{west.slug}/rondes/{residents_round.id}/voorstellen/nieuw"
    assert resident.post(page, proposal_form(residents_round), page=page).status_code == 303


@pytest.mark.parametrize("workers_eligible", [True, False])
def test_someone_who_works_in_the_wijk_supports_only_where_the_round_lets_them(
    west, worker, fatima, make_round, make_proposal, make_client, workers_eligible
):
    rnd = make_round(west, Phase.SUPPORT, workers_eligible=workers_eligible)
    proposal = make_proposal(rnd, fatima, State.ADMITTED)
    me = signed_in(make_client, worker)
    page = me.get(f"/voorstellen/{proposal.id}").get_data(as_text=True)
    assert ("Steun dit voorstel" in page) is workers_eligible
    response = me.post(f"/voorstellen/{proposal.id}/steun", {}, page="/")
    assert response.status_code == (303 if workers_eligible else 403)
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).support_count == (1 if workers_eligible else 0)
    refusal = proposal.who_refusal(Action.SUPPORT, worker)
    if workers_eligible:
        assert refusal is None
    else:
        wijk = proposal.round.neighbourhood.name
        assert (
            refusal == f"Alleen bewoners van wijk {wijk} met een bevestigd account kunnen steunen."
        )


def test_someone_who_works_in_the_wijk_becomes_coauthor_where_the_round_lets_them(
    west, worker, fatima, make_round, make_proposal, make_client, inbox
):
    open_round = make_round(west, title="Voor iedereen", workers_eligible=True)
    residents_round = make_round(west, title="Alleen bewoners")
    author = signed_in(make_client, fatima)
    me = signed_in(make_client, worker)
    links = {}
    for rnd in (open_round, residents_round):
        proposal = make_proposal(rnd, fatima, State.SUBMITTED)
        url = f"/voorstellen/{proposal.id}"
        assert (
            author.post(f"{url}/mede-indieners", {"email": worker.email}, page=url).status_code
            == 303
        )
        links[rnd.id] = (
            proposal,
            re.sub(r"^https?://[^/]+", "", link_in(inbox.last_to(worker.email))),
        )

    proposal, link = links[residents_round.id]
    response = me.post(link, {}, page=link)
    assert response.status_code == 403
    assert "Alleen bewoners van wijk West kunnen mede-indiener worden" in response.get_data(
        as_text=True
    )
    assert not proposal.is_author(worker)

    proposal, link = links[open_round.id]
    assert me.post(link, {}, page=link).status_code == 303
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).is_author(worker)
    assert me.get(f"/voorstellen/{proposal.id}/bewerken").status_code == 200


# --- IDOR and mass assignment --------------------------------------------------------------------


def test_another_resident_cannot_edit_or_withdraw(
    west, rnd, fatima, make_user, make_client, make_proposal
):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED, title="Van Fatima")
    bob = signed_in(make_client, make_user("bob@example.org", wijk=west))
    url = f"/voorstellen/{proposal.id}"
    assert bob.get(f"{url}/bewerken").status_code == 403
    assert (
        bob.post(f"{url}/bewerken", proposal_form(rnd, title="Gekaapt"), page=url).status_code
        == 403
    )
    assert bob.post(f"{url}/intrekken", {"reason": "weg"}, page=url).status_code == 403
    assert (
        bob.post(f"{url}/mede-indieners", {"email": "bob@example.org"}, page=url).status_code == 403
    )
    assert bob.post(f"{url}/indienen", {}, page=url).status_code == 403
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal.id)
    assert (
        proposal.title == "Van Fatima"
        and proposal.state == State.SUBMITTED
        and proposal.coauthors == []
    )
    # a board member of the wijk has no author rights either
    # (and an id that does not exist is simply not found)
    assert bob.get("/voorstellen/999999/bewerken").status_code == 404


def test_extra_form_fields_are_ignored(west, rnd, fatima, make_user, make_client):
    other = make_user("other@example.org", wijk=west)
    me = signed_in(make_client, fatima)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen/nieuw"
    response = me.post(
        page,
        proposal_form(
            rnd,
            state="admitted",
            submitter_id=str(other.id),
            cost="1",
            cost_cents="1",
            support_count="999",
            board_cost_cents="1",
        ),
        page=page,
    )
    assert response.status_code == 303
    proposal = only_proposal()
    assert proposal.state == State.SUBMITTED and proposal.submitter_id == fatima.id
    assert (
        proposal.cost_cents == 165_000
        and proposal.support_count == 0
        and proposal.board_cost_cents is None
    )


def test_edit_until_review_starts_then_only_when_asked(
    west, rnd, fatima, make_client, make_proposal
):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    me = signed_in(make_client, fatima)
    url = f"/voorstellen/{proposal.id}/bewerken"
    assert me.post(url, proposal_form(rnd, title="Beter"), page=url).status_code == 303
    rnd.phase = Phase.REVIEW
    db.session.commit()
    response = me.post(url, proposal_form(rnd, title="Nog beter"), page=url)
    assert response.status_code == 409 and "De toetsing is begonnen" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).title == "Beter"


def test_withdrawn_stays_visible(west, rnd, fatima, make_client, make_proposal, client):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED, title="Speeltuin")
    me = signed_in(make_client, fatima)
    url = f"/voorstellen/{proposal.id}"
    assert me.post(f"{url}/intrekken", {"reason": "We doen het zelf"}, page=url).status_code == 303
    body = client.get(url).get_data(as_text=True)
    assert "Ingetrokken" in body and "We doen het zelf" in body
    listing = client.get(f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen").get_data(as_text=True)
    assert "Speeltuin" in listing


# --- the rules table ------

ROLES = ("submitter", "coauthor", "resident", "board", "board_author", "anonymous")
ALLOWED = {
    # (action, state, phase): the roles that may
    (Action.EDIT, State.CONCEPT, Phase.SUBMISSION): {"submitter", "coauthor", "board_author"},
    (Action.EDIT, State.SUBMITTED, Phase.SUBMISSION): {"submitter", "coauthor", "board_author"},
    (Action.EDIT, State.SUBMITTED, Phase.REVIEW): set(),
    (Action.EDIT, State.CHANGES_REQUESTED, Phase.REVIEW): {"submitter", "coauthor", "board_author"},
    (Action.EDIT, State.ADMITTED, Phase.REVIEW): set(),
    (Action.EDIT, State.CHANGES_REQUESTED, Phase.VOTING): set(),
    (Action.SUBMIT, State.CONCEPT, Phase.SUBMISSION): {"submitter", "coauthor", "board_author"},
    (Action.SUBMIT, State.CONCEPT, Phase.REVIEW): set(),
    (Action.SUBMIT, State.CHANGES_REQUESTED, Phase.REVIEW): {
        "submitter",
        "coauthor",
        "board_author",
    },
    (Action.SUBMIT, State.SUBMITTED, Phase.SUBMISSION): set(),
    (Action.WITHDRAW, State.SUBMITTED, Phase.REVIEW): {"submitter", "coauthor", "board_author"},
    (Action.WITHDRAW, State.ADMITTED, Phase.SUPPORT): {"submitter", "coauthor", "board_author"},
    (Action.WITHDRAW, State.ADMITTED, Phase.VOTING): set(),
    (Action.WITHDRAW, State.REJECTED, Phase.REVIEW): set(),
    (Action.ADMIT, State.SUBMITTED, Phase.REVIEW): {"board"},
    (Action.ADMIT, State.SUBMITTED, Phase.VOTING): set(),
    (Action.ADMIT, State.CONCEPT, Phase.REVIEW): set(),
    (Action.ADMIT, State.WITHDRAWN, Phase.REVIEW): set(),
    (Action.REJECT, State.SUBMITTED, Phase.REVIEW): {"board"},
    (Action.REJECT, State.ADMITTED, Phase.SUPPORT): {"board"},
    (Action.REJECT, State.ADMITTED, Phase.VOTING): set(),
    (Action.REQUEST_CHANGES, State.SUBMITTED, Phase.REVIEW): {"board"},
    (Action.REQUEST_CHANGES, State.REJECTED, Phase.REVIEW): set(),
    (Action.ESTIMATE, State.ADMITTED, Phase.SUPPORT): {"board"},
    (Action.ESTIMATE, State.ADMITTED, Phase.VOTING): set(),
    (Action.MARK_DUPLICATE, State.SUBMITTED, Phase.REVIEW): {"board"},
    (Action.SUPPORT, State.ADMITTED, Phase.SUPPORT): {
        "submitter",
        "coauthor",
        "resident",
        "board",
        "board_author",
    },
    (Action.SUPPORT, State.ADMITTED, Phase.REVIEW): set(),
    (Action.SUPPORT, State.SUBMITTED, Phase.SUPPORT): set(),
    (Action.INVITE, State.SUBMITTED, Phase.REVIEW): {"submitter", "coauthor", "board_author"},
    (Action.INVITE, State.ADMITTED, Phase.SUPPORT): set(),
}


@pytest.fixture
def cast(west, make_user, rnd, make_proposal):
    submitter = make_user("s@example.org", wijk=west)
    coauthor = make_user("c@example.org", wijk=west)
    board_author = make_user("ba@example.org", wijk=west, roles=((Role.BOARD, west),))
    users = {
        "submitter": submitter,
        "coauthor": coauthor,
        "resident": make_user("r@example.org", wijk=west),
        "board": make_user("b@example.org", wijk=west, roles=((Role.BOARD, west),)),
        "board_author": board_author,
        "anonymous": None,
    }
    proposal = make_proposal(rnd, submitter, State.SUBMITTED)
    for user in (coauthor, board_author):
        proposal.coauthors.append(
            operations.CoAuthor(email=user.email, user_id=user.id, accepted_at=utcnow())
        )
    db.session.commit()
    return proposal, users


@pytest.mark.parametrize(("action", "state", "phase"), list(ALLOWED))
def test_rules_table(cast, action, state, phase):
    proposal, users = cast
    proposal.state = state
    proposal.round.phase = phase
    allowed = {who for who in ROLES if proposal.allows(action, users[who])}
    assert allowed == ALLOWED[(action, state, phase)]
    for who in ROLES:
        if who not in allowed:
            reason = proposal.refusal(action, users[who])
            assert reason and reason[0].isupper()  # a sentence in Dutch, never an empty refusal


# --- photos ------


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (300, 200), (30, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "GeheimMerk"
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 0.0), 3: "E", 4: (5.0, 7.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def huge_png_header() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


def upload(client, proposal, data: bytes, name: str):
    url = f"/voorstellen/{proposal.id}"
    return client.post(
        f"{url}/fotos",
        {"photo": (io.BytesIO(data), name), "alt": "De straat nu"},
        page=url,
        content_type="multipart/form-data",
    )


def test_photo_is_reencoded_without_gps_and_served(
    app, rnd, fatima, make_client, make_proposal, client
):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    me = signed_in(make_client, fatima)
    response = upload(me, proposal, jpeg_with_gps(), "IMG_0001.jpg")
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    image = db.session.scalar(select(ProposalImage))
    stored = Path(app.config["UPLOAD_DIR"]) / image.filename
    data = stored.read_bytes()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}\.jpg", image.filename)
    assert b"Exif" not in data and b"GeheimMerk" not in data
    served = client.get(f"/voorstellen/{proposal.id}/fotos/{image.id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    served.close()
    assert 'alt="De straat nu"' in client.get(f"/voorstellen/{proposal.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"#!/bin/sh\nrm -rf ~\n", "foto.jpg", "geen foto in JPEG-, PNG- of WebP-formaat"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "foto.png", "geen foto"),
        (huge_png_header(), "groot.png", "te veel pixels"),
        (b"\xff" * 200_001, "zwaar.jpg", "groter dan 0,2 MB"),
    ],
)
def test_bad_uploads_are_refused(app, rnd, fatima, make_client, make_proposal, data, name, message):
    # the limit is 5 MB; a smaller one here keeps the test client's upload in memory
    app.config["UPLOAD_MAX_BYTES"] = 200_000
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    me = signed_in(make_client, fatima)
    response = upload(me, proposal, data, name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ProposalImage.id))) == 0
    uploads = Path(app.config["UPLOAD_DIR"])
    assert not uploads.exists() or not any(uploads.iterdir())


def test_at_most_three_photos(rnd, fatima, make_client, make_proposal):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    me = signed_in(make_client, fatima)
    for _ in range(3):
        assert upload(me, proposal, jpeg_with_gps(), "a.jpg").status_code == 303
    response = upload(me, proposal, jpeg_with_gps(), "a.jpg")
    assert response.status_code == 422 and "hoogstens 3 foto" in response.get_data(as_text=True)


# --- co-submitters ------


def test_invited_resident_becomes_coauthor(
    west, rnd, fatima, make_user, make_client, make_proposal, inbox
):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    jan = make_user("jan@example.org", wijk=west)
    me = signed_in(make_client, fatima)
    url = f"/voorstellen/{proposal.id}"
    assert (
        me.post(f"{url}/mede-indieners", {"email": "Jan@Example.org"}, page=url).status_code == 303
    )
    link = re.sub(r"^https?://[^/]+", "", link_in(inbox.last_to("jan@example.org")))

    stranger = signed_in(make_client, make_user("kees@example.org", wijk=west))
    response = stranger.post(link, {}, page=link)
    assert response.status_code == 403 and "jan@example.org" in response.get_data(as_text=True)

    other = signed_in(make_client, jan)
    assert other.get(f"{url}/bewerken").status_code == 403
    assert other.post(link, {}, page=link).status_code == 303
    assert other.get(f"{url}/bewerken").status_code == 200
    assert other.get(link.replace("/uitnodiging/", "/uitnodiging/x")).status_code == 404


# --- the board's review ------


def test_board_decisions_are_public_logged_and_mailed(
    west, rnd, fatima, board, make_client, make_proposal, client, inbox
):
    rnd.phase = Phase.REVIEW
    first = make_proposal(rnd, fatima, State.SUBMITTED, title="Eerste")
    second = make_proposal(rnd, fatima, State.SUBMITTED, title="Tweede")
    third = make_proposal(rnd, fatima, State.SUBMITTED, title="Derde")
    db.session.commit()
    henk = signed_in(make_client, board)
    base = f"/wijk/{west.slug}/bestuur/voorstellen"
    queue = henk.get(f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/toetsing").get_data(as_text=True)
    assert "Eerste" in queue and "Derde" in queue

    assert (
        henk.post(f"{base}/{first.id}/toelaten", {"message": "Mooi plan"}, page="/").status_code
        == 303
    )
    criterion = rnd.criteria[0]
    response = henk.post(
        f"{base}/{second.id}/afwijzen",
        {"criteria": str(criterion.id), "message": "Te duur onderhoud"},
        page="/",
    )
    assert response.status_code == 303
    response = henk.post(f"{base}/{third.id}/aanpassing", {"message": ""}, page="/")
    assert response.status_code == 422 and "Schrijf wat er anders moet" in response.get_data(
        as_text=True
    )
    assert (
        henk.post(
            f"{base}/{third.id}/aanpassing", {"message": "Voeg een tekening toe"}, page="/"
        ).status_code
        == 303
    )
    response = henk.post(f"{base}/{first.id}/kosten", {"amount": "2.000", "note": ""}, page="/")
    assert response.status_code == 422 and "Leg uit waarom" in response.get_data(as_text=True)
    assert (
        henk.post(
            f"{base}/{first.id}/kosten", {"amount": "2.000", "note": "Offerte hovenier"}, page="/"
        ).status_code
        == 303
    )
    for odd in ("#²", "99999999999"):  # no proposal number: a Dutch 422, never a 500
        response = henk.post(f"{base}/{third.id}/dubbel", {"original": odd, "note": ""}, page="/")
        assert response.status_code == 422 and "bijvoorbeeld 12" in response.get_data(as_text=True)
    assert (
        henk.post(
            f"{base}/{third.id}/dubbel", {"original": f"#{first.id}", "note": ""}, page="/"
        ).status_code
        == 303
    )

    db.session.expire_all()
    states = {p.title: p.state for p in db.session.scalars(select(Proposal))}
    assert states == {
        "Eerste": State.ADMITTED,
        "Tweede": State.REJECTED,
        "Derde": State.CHANGES_REQUESTED,
    }
    body = client.get(f"/voorstellen/{second.id}").get_data(as_text=True)
    assert (
        "Afgewezen" in body
        and "Te duur onderhoud" in body
        and f"Voldoet niet aan: {criterion.text}" in body
    )
    body = client.get(f"/voorstellen/{first.id}").get_data(as_text=True)
    assert (
        "2.000,00" in body and "Offerte hovenier" in body and "Derde" in body
    )  # duplicate linked back
    assert db.session.get(Proposal, first.id).effective_cost_cents == 200_000

    actions = sorted(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("proposal.%")))
    )
    assert actions == [
        "proposal.admit",
        "proposal.duplicate",
        "proposal.estimate",
        "proposal.reject",
        "proposal.request_changes",
    ]
    mails = inbox.to("fatima@example.org")
    assert len(mails) == 5 and "Te duur onderhoud" in "".join(mail_body(m) for m in mails)


def test_board_member_cannot_review_own_proposal(west, rnd, board, make_client, make_proposal):
    rnd.phase = Phase.REVIEW
    own = make_proposal(rnd, board, State.SUBMITTED)
    db.session.commit()
    henk = signed_in(make_client, board)
    response = henk.post(f"/wijk/{west.slug}/bestuur/voorstellen/{own.id}/toelaten", {}, page="/")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Proposal, own.id).state == State.SUBMITTED


def test_board_of_another_wijk_cannot_decide(
    west, rnd, fatima, oost, make_user, make_client, make_proposal
):
    rnd.phase = Phase.REVIEW
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    other_board = signed_in(
        make_client, make_user("b.oost@example.org", wijk=oost, roles=((Role.BOARD, oost),))
    )
    assert (
        other_board.post(
            f"/wijk/{west.slug}/bestuur/voorstellen/{proposal.id}/toelaten", {}, page="/"
        ).status_code
        == 403
    )
    # through its own wijk's address the proposal is not found
    assert (
        other_board.post(
            f"/wijk/{oost.slug}/bestuur/voorstellen/{proposal.id}/toelaten", {}, page="/"
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).state == State.SUBMITTED


def test_costs_lock_when_voting_opens(west, rnd, fatima, board, make_proposal):
    proposal = make_proposal(rnd, fatima, State.ADMITTED)
    rnd.phase = Phase.VOTING
    db.session.commit()
    with pytest.raises(operations.ProposalError):
        operations.set_estimate(board, proposal, 100_000, "Goedkoper")
    with pytest.raises(operations.ProposalError):
        operations.reject(board, proposal, [], "Toch niet")
    assert proposal.board_cost_cents is None and proposal.state == State.ADMITTED


# --- supports ------


def test_support_once_take_back_and_threshold(
    west, rnd, fatima, board, make_user, make_client, make_proposal
):
    rnd.phase = Phase.SUPPORT
    rnd.support_threshold = 2
    popular = make_proposal(rnd, fatima, State.ADMITTED, title="Populair")
    lonely = make_proposal(rnd, fatima, State.ADMITTED, title="Alleen")
    db.session.commit()
    voters = [signed_in(make_client, make_user(f"v{i}@example.org", wijk=west)) for i in range(3)]
    url = f"/voorstellen/{popular.id}"
    for client in voters:
        assert client.post(f"{url}/steun", {"want": "1"}, page="/").status_code == 303
    # the same press twice (a double click, a second tab) supports once, and says so
    again = voters[0].post(f"{url}/steun", {"want": "1"}, page="/")
    assert again.status_code == 303
    assert "Je steun stond er al." in voters[0].get(url).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Proposal, popular.id).support_count == 3
    # taking it back is its own button (want=0), and twice takes it back once
    for _ in range(2):
        assert voters[0].post(f"{url}/steun", {"want": "0"}, page="/").status_code == 303
    assert "Je steun was al ingetrokken." in voters[0].get(url).get_data(as_text=True)
    # the page offers what the button means
    assert 'name="want" value="1"' in voters[0].get(url).get_data(as_text=True)
    assert 'name="want" value="0"' in voters[1].get(url).get_data(as_text=True)
    assert voters[1].post(f"/voorstellen/{lonely.id}/steun", {}, page="/").status_code == 303
    db.session.expire_all()
    assert db.session.get(Proposal, popular.id).support_count == 2
    assert db.session.scalar(select(func.count(Support.id))) == 3
    # htmx gets only the button back, twice the same: still 2
    for _ in range(2):
        fragment = voters[2].post(
            f"/voorstellen/{lonely.id}/steun",
            {"want": "1"},
            page="/",
            headers={"HX-Request": "true"},
        )
        assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
        assert "2 keer gesteund" in fragment.get_data(as_text=True)
    assert 'name="want" value="0"' in fragment.get_data(as_text=True)
    assert "Je steun stond er al." in fragment.get_data(as_text=True)
    voters[2].post(f"/voorstellen/{lonely.id}/steun", {"want": "0"}, page="/")  # back to 1

    rnd = db.session.get(Round, rnd.id)
    rounds.advance(board, rnd, "Steunperiode voorbij")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Proposal, popular.id).state == State.ADMITTED
    lonely = db.session.get(Proposal, lonely.id)
    assert lonely.state == State.INSUFFICIENT_SUPPORT
    assert "1 keer gesteund; nodig waren er 2" in lonely.events[-1].message


def test_outsider_cannot_support(west, rnd, fatima, oost, make_user, make_client, make_proposal):
    rnd.phase = Phase.SUPPORT
    proposal = make_proposal(rnd, fatima, State.ADMITTED)
    outsider = signed_in(make_client, make_user("o@example.org", wijk=oost))
    assert outsider.post(f"/voorstellen/{proposal.id}/steun", {}, page="/").status_code == 403
    assert db.session.scalar(select(func.count(Support.id))) == 0


# --- the public list ------


def test_list_filters_search_sort_and_htmx(west, rnd, fatima, make_proposal, client):
    lombok, oog = west.areas
    make_proposal(
        rnd, fatima, State.ADMITTED, title="Bankjes", cost=50_000, area=lombok, summary="Rust"
    )
    make_proposal(
        rnd,
        fatima,
        State.SUBMITTED,
        title="Moestuin",
        cost=900_000,
        area=oog,
        summary="Groente 100%",
    )
    make_proposal(rnd, fatima, State.CONCEPT, title="Geheim concept", cost=70_000)
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen"

    def titles(query: str = "", **headers: str) -> list[str]:
        body = client.get(f"{url}?{query}", headers=headers).get_data(as_text=True)
        return re.findall(r'<h2><a href="/voorstellen/\d+">([^<]+)</a></h2>', body)

    assert sorted(titles()) == ["Bankjes", "Moestuin"]
    assert titles("sort=cost_asc") == ["Bankjes", "Moestuin"]
    assert titles("sort=cost_desc") == ["Moestuin", "Bankjes"]
    assert titles("state=admitted") == ["Bankjes"]
    assert titles(f"area={oog.id}") == ["Moestuin"]
    assert titles("q=moes") == ["Moestuin"]
    assert titles("q=100%") == ["Moestuin"]  # % is a character, not a wildcard
    assert titles("q=%") == ["Moestuin"]
    assert titles("q=_") == []
    assert titles("state=concept") == sorted(titles(), key=titles().index)  # concepts never listed
    first, again = titles(), titles()
    assert first == again  # random order, but stable for one visitor
    fragment = client.get(f"{url}?sort=cost_asc", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert (
        "<html" not in body
        and 'id="voorstellen"' in body
        and "HX-Request" in fragment.headers["Vary"]
    )
    response = client.get(f"{url}?category=abc&sort=wild")
    assert response.status_code == 422  # explained, not a crash


def test_list_query_count_is_flat(west, rnd, fatima, client, count_queries):
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen"

    def add(n: int) -> None:
        rows = [
            {
                "round_id": rnd.id,
                "neighbourhood_id": west.id,
                "submitter_id": fatima.id,
                "title": f"Voorstel {i}",
                "summary": "Samenvatting",
                "description": "",
                "category_id": rnd.categories[i % 3].id,
                "area_id": west.areas[i % 2].id,
                "location": "",
                "state": "admitted",
                "cost_cents": 10_000 + i,
                "support_count": i % 7,
                "board_cost_note": "",
                "created_at": utcnow(),
                "updated_at": utcnow(),
                "submitted_at": utcnow(),
            }
            for i in range(n)
        ]
        db.session.execute(insert(Proposal), rows)
        db.session.commit()

    add(10)
    client.get(url)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    add(990)
    with count_queries() as many:
        body = client.get(url).get_data(as_text=True)
    assert "1000 voorstellen" in body
    assert len(many) == len(few)
    category_id = rnd.categories[0].id
    with count_queries() as filtered:
        client.get(f"{url}?sort=support&q=Voorstel&category={category_id}&page=3")
    assert len(filtered) == len(few)
    assert db.session.scalar(select(func.count(CostLine.id))) == 0


def test_markdown_is_rendered_inert(west, rnd, fatima, make_proposal, client):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    proposal.description = (
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[klik](javascript:alert(3)) en [site](https://example.org) **vet**"
    )
    db.session.commit()
    body = client.get(f"/voorstellen/{proposal.id}").get_data(as_text=True)
    section = body.split('id="uitleg"')[1].split("</section>")[0]
    # the text may mention them; no tag, attribute or link does
    assert "<script" not in section and "<img" not in section
    assert not re.search(r"<[^>]*\bon\w+=", section)
    assert 'href="javascript' not in section.lower()
    assert "&lt;script&gt;" in section
    assert '<a href="https://example.org" rel="nofollow noopener ugc">site</a>' in section
    assert "<strong>vet</strong>" in section


def test_my_proposals(west, rnd, fatima, make_proposal, make_client):
    make_proposal(rnd, fatima, State.CONCEPT, title="Mijn concept")
    body = signed_in(make_client, fatima).get("/mijn-voorstellen").get_data(as_text=True)
    assert "Mijn concept" in body and "Concept" in body


# --- one transaction per use case, double clicks (issue 17) ------------------------------------


def test_a_review_decision_taken_twice_is_a_409_and_mailed_once(
    west, rnd, fatima, board, make_client, make_proposal, inbox
):
    rnd.phase = Phase.REVIEW
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    db.session.commit()
    henk = signed_in(make_client, board)
    url = f"/wijk/{west.slug}/bestuur/voorstellen/{proposal.id}/toelaten"
    assert henk.post(url, {"message": "Mooi"}, page="/").status_code == 303
    again = henk.post(url, {"message": "Mooi"}, page="/")
    assert again.status_code == 409
    assert "Dit besluit is net al genomen" in again.get_data(as_text=True)
    assert len(inbox.to("fatima@example.org")) == 1
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "proposal.admit")
        )
        == 1
    )


def test_mail_of_a_decision_waits_for_the_commit(app, rnd, fatima, board, make_proposal, inbox):
    """A decision inside a use case that is rolled back afterwards sends nothing."""
    from wijkbudget.errors import DomainError
    from wijkbudget.usecase import use_case

    rnd.phase = Phase.REVIEW
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    db.session.commit()

    @use_case
    def admit_then_refuse() -> None:
        operations.admit(board, proposal, "Mooi")  # a nested use case: joins this one
        raise DomainError("Toch niet.")

    with app.test_request_context():
        with pytest.raises(DomainError):
            admit_then_refuse()
        assert inbox.to("fatima@example.org") == []
        db.session.expire_all()
        assert db.session.get(Proposal, proposal.id).state == State.SUBMITTED
        operations.admit(board, proposal, "Mooi")
    assert len(inbox.to("fatima@example.org")) == 1


def test_invitations_twice_and_beyond_the_limit(
    west, rnd, fatima, make_user, make_client, make_proposal, inbox
):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    me = signed_in(make_client, fatima)
    url = f"/voorstellen/{proposal.id}"
    assert (
        me.post(f"{url}/mede-indieners", {"email": "jan@example.org"}, page=url).status_code == 303
    )
    again = me.post(f"{url}/mede-indieners", {"email": "Jan@example.org"}, page=url)
    assert again.status_code == 409 and "al uitgenodigd" in again.get_data(as_text=True)
    assert len(inbox.to("jan@example.org")) == 1
    for i in range(operations.MAX_COAUTHORS - 1):
        assert (
            me.post(f"{url}/mede-indieners", {"email": f"m{i}@example.org"}, page=url).status_code
            == 303
        )
    full = me.post(f"{url}/mede-indieners", {"email": "teveel@example.org"}, page=url)
    assert full.status_code == 422 and "hoogstens 10 mede-indieners" in full.get_data(as_text=True)
    assert inbox.to("teveel@example.org") == []


def test_accepting_twice_joins_once_and_a_full_proposal_takes_no_more(
    west, rnd, fatima, make_user, make_client, make_proposal
):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    jan = make_user("jan@example.org", wijk=west)
    kees = make_user("kees@example.org", wijk=west)
    invites = [operations.CoAuthor(email=u.email) for u in (jan, kees)]
    proposal.coauthors.extend(invites)
    for k in range(operations.MAX_COAUTHORS - 1):
        proposal.coauthors.append(
            operations.CoAuthor(email=f"al{k}@example.org", accepted_at=utcnow())
        )
    db.session.commit()

    def link(invite):
        token = operations._invite_serializer().dumps({"c": invite.id, "e": invite.email})
        return f"/voorstellen/uitnodiging/{token}"

    me = signed_in(make_client, jan)
    assert me.post(link(invites[0]), {}, page=link(invites[0])).status_code == 303
    assert me.post(link(invites[0]), {}, page=link(invites[0])).status_code == 303  # pressed twice
    joined = db.session.scalar(
        select(func.count(operations.ProposalEvent.id)).where(
            operations.ProposalEvent.kind == "coauthor_joined"
        )
    )
    assert joined == 1
    late = signed_in(make_client, kees).post(link(invites[1]), {}, page=link(invites[1]))
    assert late.status_code == 409 and "al 10 mede-indieners" in late.get_data(as_text=True)


def test_the_same_proposal_form_sent_twice_makes_one_proposal_with_its_conversation(
    west, rnd, fatima, make_client
):
    from wijkbudget.dialogue.models import Thread

    me = signed_in(make_client, fatima)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen/nieuw"
    first = me.post(page, proposal_form(rnd), page=page)
    second = me.post(page, proposal_form(rnd), page=page)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    proposal = only_proposal()
    assert db.session.scalar(select(func.count(Proposal.id))) == 1
    thread = db.session.scalar(select(Thread).where(Thread.proposal_id == proposal.id))
    assert thread is not None  # every new proposal has its conversation
    assert (
        me.get(f"/voorstellen/{proposal.id}/gesprek")
        .headers["Location"]
        .endswith(f"/gesprekken/{thread.id}")
    )


def test_submit_and_withdraw_twice_change_once(rnd, fatima, make_client, make_proposal):
    proposal = make_proposal(rnd, fatima, State.CONCEPT)
    me = signed_in(make_client, fatima)
    url = f"/voorstellen/{proposal.id}"
    for what, kind in (("indienen", "submitted"), ("intrekken", "withdrawn")):
        for _ in range(2):
            assert me.post(f"{url}/{what}", {"reason": ""}, page=url).status_code == 303
        db.session.expire_all()
        events = [e.kind for e in db.session.get(Proposal, proposal.id).events]
        assert events.count(kind) == 1


def test_the_same_estimate_twice_is_one_event(app, rnd, fatima, board, make_proposal, inbox):
    rnd.phase = Phase.REVIEW
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    db.session.commit()
    with app.test_request_context():
        for _ in range(2):
            operations.set_estimate(board, proposal, 200_000, "Offerte")
    assert len(inbox.to("fatima@example.org")) == 1
    kinds = [e.kind for e in db.session.get(Proposal, proposal.id).events]
    assert kinds.count("estimate") == 1


def test_removing_a_photo_twice_removes_it_once_and_its_file_after_the_commit(
    app, rnd, fatima, make_client, make_proposal
):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    me = signed_in(make_client, fatima)
    assert upload(me, proposal, jpeg_with_gps(), "a.jpg").status_code == 303
    image = db.session.scalar(select(ProposalImage))
    stored = Path(app.config["UPLOAD_DIR"]) / image.filename
    assert stored.exists()
    url = f"/voorstellen/{proposal.id}/fotos/{image.id}/verwijderen"
    assert me.post(url, {}, page=f"/voorstellen/{proposal.id}").status_code == 303
    assert not stored.exists()
    assert me.post(url, {}, page=f"/voorstellen/{proposal.id}").status_code == 404


def test_a_refused_photo_leaves_no_file(app, rnd, fatima, make_client, make_proposal, monkeypatch):
    """The photo is written before its use case; when the use case refuses, the file goes."""
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    me = signed_in(make_client, fatima)
    monkeypatch.setattr(photos, "MAX_IMAGES", 0)  # the check under the lock refuses
    response = upload(me, proposal, jpeg_with_gps(), "a.jpg")
    assert response.status_code == 422
    uploads = Path(app.config["UPLOAD_DIR"])
    assert not uploads.exists() or not any(uploads.iterdir())


def test_the_threshold_counts_the_rows_not_the_stored_count(
    west, rnd, fatima, board, make_user, make_proposal
):
    rnd.phase = Phase.SUPPORT
    rnd.support_threshold = 2
    proposal = make_proposal(rnd, fatima, State.ADMITTED)
    for i in range(2):
        db.session.add(Support(proposal_id=proposal.id, user_id=make_user(f"s{i}@example.org").id))
    proposal.support_count = 1  # as the old race could leave it: one too few
    db.session.commit()
    rounds.advance(board, db.session.get(Round, rnd.id), "Steunperiode voorbij")
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal.id)
    assert proposal.state == State.ADMITTED and proposal.support_count == 2


def test_support_and_estimate_judge_the_phase_by_the_dates(
    app, west, rnd, fatima, board, make_user, make_client, make_proposal
):
    """Voting opened by its date, and no tick has written it yet: a support and a new cost are
    refused all the same (the refused use case writes nothing: the move is tick's to write)."""
    from datetime import timedelta

    rnd.phase = Phase.SUPPORT
    rnd.set_start(Phase.VOTING, utcnow() - timedelta(minutes=1))
    proposal = make_proposal(rnd, fatima, State.ADMITTED)
    db.session.commit()
    voter = signed_in(make_client, make_user("v@example.org", wijk=west))
    refused = voter.post(f"/voorstellen/{proposal.id}/steun", {"want": "1"}, page="/")
    assert refused.status_code == 422
    assert "in de fase &#39;Stemmen&#39;" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Support.id))) == 0
    with app.test_request_context(), pytest.raises(operations.ProposalError):
        operations.set_estimate(board, db.session.get(Proposal, proposal.id), 1, "Goedkoper")
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).board_cost_cents is None
    assert db.session.get(Round, rnd.id).phase == Phase.SUPPORT  # not written by a refusal


def test_a_proposal_page_and_list_only_read(
    west, rnd, fatima, make_proposal, client, count_queries
):
    """A GET writes nothing: not the phase its dates imply, not a conversation."""
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    for url in (
        f"/voorstellen/{proposal.id}",
        f"/voorstellen/{proposal.id}/gesprek",  # a proposal made without its conversation
        f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen",
    ):
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
        assert writes == [], (url, writes)


# --- invitations that expire and can be withdrawn (issue 18, point 9) ------


def _invite(me, proposal, inbox, email="jan@example.org"):
    url = f"/voorstellen/{proposal.id}"
    assert me.post(f"{url}/mede-indieners", {"email": email}, page=url).status_code == 303
    db.session.expire_all()
    invite = db.session.scalar(
        select(operations.CoAuthor).where(operations.CoAuthor.email == email)
    )
    return invite, re.sub(r"^https?://[^/]+", "", link_in(inbox.last_to(email)))


@pytest.mark.parametrize(("days", "expired"), [(13, False), (15, True)])
def test_an_invitation_expires_after_fourteen_days(
    west, rnd, fatima, make_user, make_client, make_proposal, inbox, days, expired, monkeypatch
):
    from datetime import timedelta

    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    me = signed_in(make_client, fatima)
    _invite_row, link = _invite(me, proposal, inbox)
    monkeypatch.setattr(coauthors, "utcnow", lambda: utcnow() + timedelta(days=days))
    jan = signed_in(make_client, make_user("jan@example.org", wijk=west))
    page, accepted = jan.get(link), jan.post(link, {}, page=f"/voorstellen/{proposal.id}")
    if not expired:
        assert page.status_code == 200 and accepted.status_code == 303
        return
    for response in (page, accepted):
        assert response.status_code == 404
        assert "Deze uitnodiging is verlopen" in response.get_data(as_text=True)
    own = me.get(f"/voorstellen/{proposal.id}").get_data(as_text=True)
    assert "uitnodiging verlopen" in own
    # the address can be invited again, and the new link works
    _again, new_link = _invite(me, proposal, inbox)
    assert jan.get(link).status_code == 404  # the old link is not revived by the new one
    assert jan.post(new_link, {}, page=f"/voorstellen/{proposal.id}").status_code == 303
    assert jan.get(f"/voorstellen/{proposal.id}/bewerken").status_code == 200


def test_an_expired_invitation_is_refused_under_the_lock(
    west, rnd, fatima, make_user, make_proposal
):
    from datetime import timedelta

    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    jan = make_user("jan@example.org", wijk=west)
    invite = operations.CoAuthor(email=jan.email, invited_at=utcnow() - timedelta(days=15))
    proposal.coauthors.append(invite)
    db.session.commit()
    with pytest.raises(operations.ProposalError, match="verlopen"):
        operations.accept_invite(jan, invite)


def test_an_author_withdraws_an_invitation(
    west, rnd, fatima, make_user, make_client, make_proposal, inbox
):
    proposal = make_proposal(rnd, fatima, State.SUBMITTED)
    url = f"/voorstellen/{proposal.id}"
    me = signed_in(make_client, fatima)
    invite, link = _invite(me, proposal, inbox)
    withdraw = f"{url}/mede-indieners/{invite.id}/intrekken"
    assert f'action="{withdraw}"' in me.get(url).get_data(as_text=True)

    stranger = signed_in(make_client, make_user("kees@example.org", wijk=west))
    assert stranger.post(withdraw, {}, page=url).status_code == 403
    assert me.post(withdraw, {}, page=url).status_code == 303
    assert me.post(withdraw, {}, page=url).status_code == 303  # twice: nothing more happens
    assert db.session.scalar(select(operations.CoAuthor)) is None

    jan = signed_in(make_client, make_user("jan@example.org", wijk=west))
    refused = jan.post(link, {}, page=url)
    assert refused.status_code == 404 and "ingetrokken" in refused.get_data(as_text=True)

    # an accepted invitation is a co-submitter: not withdrawn this way
    accepted, accepted_link = _invite(me, proposal, inbox, "kees@example.org")
    assert stranger.post(accepted_link, {}, page=url).status_code == 303
    response = me.post(f"{url}/mede-indieners/{accepted.id}/intrekken", {}, page=url)
    assert response.status_code == 422 and "al aangenomen" in response.get_data(as_text=True)
