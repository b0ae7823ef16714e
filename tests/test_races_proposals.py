"""Races on proposals, against the real PostgreSQL: N requests at the same instant on one
proposal or one round, repeated with fresh data; afterwards the rule holds (every support counted
once and the stored count equal to the rows; the support threshold judged on the rows; no cost
change once voting has begun; co-submitters and photos within their limits; one decision, one
proposal, one event per double click) and no request got a 5xx."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.concurrency import (
    BoardScene,
    assert_no_server_errors,
    audits,
    board_scene,
    fresh,
    postgres_only,
    press_at_once,
    race,
    repeat,
    send,
    statuses,
)
from wijkbudget import thumbnails
from wijkbudget.accounts.models import User
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals import operations
from wijkbudget.proposals.models import (
    CoAuthor,
    Proposal,
    ProposalEvent,
    ProposalImage,
    State,
    Support,
)
from wijkbudget.rounds.models import Phase, Round

pytestmark = postgres_only

N = 8


@dataclass
class Scene(BoardScene):
    author: User
    residents: list[User]


@pytest.fixture
def scene(make_wijk, make_user) -> Scene:
    base = board_scene(make_wijk, make_user)
    wijk = base["wijk"]
    return Scene(
        **base,
        author=make_user("indiener@example.org", wijk=wijk),
        residents=[make_user(f"bewoner{i}@example.org", wijk=wijk) for i in range(N)],
    )


def supports_of(proposal_id: int) -> tuple[int, int]:
    """(support rows, the stored count)."""
    rows = db.session.scalar(
        select(func.count(Support.id)).where(Support.proposal_id == proposal_id)
    )
    stored = db.session.scalar(select(Proposal.support_count).where(Proposal.id == proposal_id))
    return rows, stored


def give_supports(proposal: Proposal, users: list[User]) -> None:
    for user in users:
        db.session.add(Support(proposal_id=proposal.id, user_id=user.id, created_at=utcnow()))
    proposal.support_count = len(users)
    db.session.commit()


def events(proposal_id: int, kind: str) -> int:
    return db.session.scalar(
        select(func.count(ProposalEvent.id)).where(
            ProposalEvent.proposal_id == proposal_id, ProposalEvent.kind == kind
        )
    )


def move_to_voting(board: tuple[Any, str], slug: str, round_id: int, reason: str) -> Any:
    """The board's click that ends the support phase (the action to race)."""
    client, token = board
    url = f"/wijk/{slug}/bestuur/rondes/{round_id}/volgende-fase"
    return lambda: send(client, token, url, {"reason": reason, "current": "support"})


# --- supports -------------------------------------------------------------------------------


def test_residents_supporting_one_proposal_at_once_are_all_counted(
    scene, clients, make_round, make_proposal
):
    """The issue: 50 at once stored 48. Now count == rows == N, every time."""
    rnd = make_round(scene.wijk, Phase.SUPPORT)
    residents = clients(*(r.email for r in scene.residents))
    for _attempt in repeat():
        proposal_id = make_proposal(rnd, scene.author, State.ADMITTED).id

        responses = press_at_once(residents, f"/voorstellen/{proposal_id}/steun", {"want": "1"})
        assert statuses(responses) == [303] * N
        fresh()
        assert supports_of(proposal_id) == (N, N)


def test_one_resident_supporting_twice_at_once_supports_once(
    scene, clients, make_round, make_proposal
):
    """A double click, or two tabs: one row, no 5xx; taking it back twice at once: gone once."""
    rnd = make_round(scene.wijk, Phase.SUPPORT)
    tabs = clients(*[scene.residents[0].email] * 4)
    for _attempt in repeat():
        proposal_id = make_proposal(rnd, scene.author, State.ADMITTED).id
        url = f"/voorstellen/{proposal_id}/steun"
        for want, expected in (("1", (1, 1)), ("0", (0, 0))):
            responses = press_at_once(tabs, url, {"want": want})
            assert statuses(responses) == [303] * len(tabs)
            fresh()
            assert supports_of(proposal_id) == expected


def test_supports_racing_the_move_to_voting_are_counted_or_refused(
    scene, clients, make_round, make_proposal
):
    """Supports arriving while the board moves the round on: each one is either counted by the
    threshold or refused (the phase is over); the threshold reads the rows, and what it wrote
    in public is the number of rows."""
    threshold = 5
    residents = clients(*(r.email for r in scene.residents[: N - 1]))
    board = clients(scene.board.email)[0]
    for _attempt in repeat():
        rnd = make_round(scene.wijk, Phase.SUPPORT, support_threshold=threshold)
        ballot = make_proposal(rnd, scene.author, State.ADMITTED, title="Zeker op het biljet")
        give_supports(ballot, scene.residents[:threshold])
        proposal_id = make_proposal(rnd, scene.author, State.ADMITTED, title="Op het randje").id
        give_supports(db.session.get(Proposal, proposal_id), scene.residents[N - 1 :])
        round_id = rnd.id

        def contender(i: int, proposal_id: int = proposal_id, round_id: int = round_id) -> Any:
            if i == N - 1:
                return move_to_voting(board, scene.slug, round_id, "De steunperiode is voorbij")
            client, token = residents[i]
            return lambda: send(client, token, f"/voorstellen/{proposal_id}/steun", {"want": "1"})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        assert db.session.get(Round, round_id).phase == Phase.VOTING
        rows, stored = supports_of(proposal_id)
        assert rows == stored
        # every support that was let in is a row; a refused one is not
        let_in = sum(1 for r in responses[: N - 1] if r.status_code == 303)
        assert rows == 1 + let_in
        proposal = db.session.get(Proposal, proposal_id)
        if rows >= threshold:
            assert proposal.state == State.ADMITTED
        else:
            assert proposal.state == State.INSUFFICIENT_SUPPORT
            message = proposal.events[-1].message
            assert message == f"{rows} keer gesteund; nodig waren er {threshold}."


# --- costs ----------------------------------------------------------------------------------


def test_estimates_racing_the_move_to_voting_never_change_a_cost_once_voting(
    scene, clients, make_round, make_proposal
):
    """The board changes a cost while (another member of) the board opens voting: an estimate
    either lands strictly before the move or is refused; the cost on the ballot is the last
    estimate before voting opened."""
    estimators = clients(*[scene.board2.email] * (N - 1))
    board = clients(scene.board.email)[0]
    for _attempt in repeat():
        rnd = make_round(scene.wijk, Phase.SUPPORT)
        proposal_id = make_proposal(rnd, scene.author, State.ADMITTED, cost=100_000).id
        round_id = rnd.id

        def contender(i: int, proposal_id: int = proposal_id, round_id: int = round_id) -> Any:
            if i == N - 1:
                return move_to_voting(board, scene.slug, round_id, "Stemmen maar")
            client, token = estimators[i]
            url = f"/wijk/{scene.slug}/bestuur/voorstellen/{proposal_id}/kosten"
            data = {"amount": f"{1_100 + i},00", "note": f"Offerte {i}"}
            return lambda: send(client, token, url, data)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        assert db.session.get(Round, round_id).phase == Phase.VOTING
        moved = db.session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "round.phase",
                AuditEvent.object_id == round_id,
                AuditEvent.after.like("fase=voting%"),
            )
        )
        estimates = list(
            db.session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action == "proposal.estimate", AuditEvent.object_id == proposal_id
                )
                .order_by(AuditEvent.id)
            )
        )
        assert all(e.id < moved for e in estimates), "a cost changed after voting opened"
        assert len(estimates) == sum(1 for r in responses[: N - 1] if r.status_code == 303)
        proposal = db.session.get(Proposal, proposal_id)
        expected = int(estimates[-1].after.split("=")[1]) if estimates else None
        assert proposal.board_cost_cents == expected
        # and from now on it stays so
        client, token = estimators[0]
        url = f"/wijk/{scene.slug}/bestuur/voorstellen/{proposal_id}/kosten"
        late = send(client, token, url, {"amount": "999,00", "note": "Te laat"})
        assert late.status_code == 422
        fresh()
        assert db.session.get(Proposal, proposal_id).board_cost_cents == expected


# --- co-submitters ----------------------------------------------------------------------------


def test_invitations_accepted_at_once_never_exceed_the_limit(
    scene, clients, make_round, make_proposal, app
):
    """A proposal with more open invitations than places (as the old race could leave them):
    when they are accepted at once, at most MAX_COAUTHORS co-submitters get in."""
    limit = operations.MAX_COAUTHORS
    accepting = scene.residents[:6]
    people = clients(*(r.email for r in accepting))
    rnd = make_round(scene.wijk, Phase.SUBMISSION)
    for attempt in repeat():
        proposal = make_proposal(rnd, scene.author, State.SUBMITTED)
        for k in range(limit - 4):  # four places left, six people accepting
            proposal.coauthors.append(
                CoAuthor(email=f"al{attempt}.{k}@example.org", accepted_at=utcnow())
            )
        invites = [CoAuthor(email=r.email) for r in accepting]
        proposal.coauthors.extend(invites)
        db.session.commit()
        links = [
            "/voorstellen/uitnodiging/"
            + operations._invite_serializer().dumps({"c": invite.id, "e": invite.email})
            for invite in invites
        ]
        proposal_id = proposal.id

        def contender(i: int, links: list[str] = links) -> Any:
            client, token = people[i]
            return lambda: send(client, token, links[i])

        responses = race(len(people), contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] * 4 + [409] * 2
        fresh()
        accepted = db.session.scalar(
            select(func.count(CoAuthor.id)).where(
                CoAuthor.proposal_id == proposal_id, CoAuthor.accepted_at.is_not(None)
            )
        )
        assert accepted == limit
        assert events(proposal_id, "coauthor_joined") == 4


def test_invitations_sent_at_once_never_exceed_the_limit(
    scene, clients, make_round, make_proposal, inbox
):
    authors = clients(*(r.email for r in scene.residents[:6]))
    rnd = make_round(scene.wijk, Phase.SUBMISSION)
    limit = operations.MAX_COAUTHORS
    for attempt in repeat():
        proposal = make_proposal(rnd, scene.author, State.SUBMITTED)
        for r in scene.residents[:6]:  # the six inviting are co-submitters already
            proposal.coauthors.append(CoAuthor(email=r.email, user_id=r.id, accepted_at=utcnow()))
        db.session.commit()
        proposal_id = proposal.id
        inbox.clear()

        def contender(i: int, proposal_id: int = proposal_id, attempt: int = attempt) -> Any:
            client, token = authors[i]
            url = f"/voorstellen/{proposal_id}/mede-indieners"
            return lambda: send(client, token, url, {"email": f"nieuw{attempt}.{i}@example.org"})

        responses = race(len(authors), contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] * (limit - 6) + [422] * (12 - limit)
        fresh()
        rows = db.session.scalar(
            select(func.count(CoAuthor.id)).where(CoAuthor.proposal_id == proposal_id)
        )
        assert rows == limit
        # an invitation that was refused sent no mail
        assert len([m for m in inbox.messages if m["To"].startswith("nieuw")]) == limit - 6


def test_a_double_click_on_accept_joins_once(scene, clients, make_round, make_proposal):
    tabs = clients(*[scene.residents[0].email] * 4)
    rnd = make_round(scene.wijk, Phase.SUBMISSION)
    for _attempt in repeat():
        proposal = make_proposal(rnd, scene.author, State.SUBMITTED)
        invite = CoAuthor(email=scene.residents[0].email)
        proposal.coauthors.append(invite)
        db.session.commit()
        link = "/voorstellen/uitnodiging/" + operations._invite_serializer().dumps(
            {"c": invite.id, "e": invite.email}
        )
        proposal_id = proposal.id

        responses = press_at_once(tabs, link)
        assert statuses(responses) == [303] * len(tabs)
        fresh()
        assert events(proposal_id, "coauthor_joined") == 1


# --- the board's review -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "data", "state", "kind"),
    [
        ("toelaten", {}, State.ADMITTED, "admit"),
        ("afwijzen", {"message": "Te duur onderhoud"}, State.REJECTED, "reject"),
        ("aanpassing", {"message": "Een tekening"}, State.CHANGES_REQUESTED, "request_changes"),
    ],
)
def test_one_review_decision_when_the_board_decides_at_once(
    scene, clients, make_round, make_proposal, inbox, what, data, state, kind
):
    """Two board members (and double clicks): the decision is taken once, logged once and
    mailed once; the others hear it was just taken (409)."""
    board = clients(*[scene.board.email, scene.board2.email] * 2)
    rnd = make_round(scene.wijk, Phase.REVIEW)
    for _attempt in repeat():
        proposal_id = make_proposal(rnd, scene.author, State.SUBMITTED).id
        inbox.clear()
        url = f"/wijk/{scene.slug}/bestuur/voorstellen/{proposal_id}/{what}"
        responses = press_at_once(board, url, data)
        assert sorted(statuses(responses)) == [303] + [409] * (len(board) - 1)
        fresh()
        assert db.session.get(Proposal, proposal_id).state == state
        assert events(proposal_id, kind) == 1
        assert audits(f"proposal.{kind}", proposal_id) == 1
        assert len(inbox.to(scene.author.email)) == 1


def test_a_proposal_sent_twice_at_once_is_made_once(scene, clients, make_round):
    """A double click on "Indienen" (or a second tab): one proposal, both answers lead to it."""
    tabs = clients(*[scene.author.email] * 4)
    rnd = make_round(scene.wijk, Phase.SUBMISSION)
    page = f"/wijk/{scene.slug}/rondes/{rnd.id}/voorstellen/nieuw"
    category = str(rnd.categories[0].id)
    for attempt in repeat():
        form = {
            "title": f"Bankjes {attempt}",
            "summary": "Drie bankjes bij de speeltuin.",
            "category": category,
            "cost_lines-0-item": "Bankjes",
            "cost_lines-0-amount": "1.500",
            "action": "submit",
        }

        responses = press_at_once(tabs, page, form)
        assert statuses(responses) == [303] * len(tabs)
        assert len({r.headers["Location"] for r in responses}) == 1
        fresh()
        made = db.session.scalars(select(Proposal).where(Proposal.title == form["title"])).all()
        assert len(made) == 1 and made[0].state == State.SUBMITTED
        assert events(made[0].id, "submitted") == 1


def test_submit_and_withdraw_twice_at_once_happen_once(scene, clients, make_round, make_proposal):
    tabs = clients(*[scene.author.email] * 4)
    rnd = make_round(scene.wijk, Phase.SUBMISSION)
    for _attempt in repeat():
        proposal_id = make_proposal(rnd, scene.author, State.CONCEPT).id
        for what, state, kind in (
            ("indienen", State.SUBMITTED, "submitted"),
            ("intrekken", State.WITHDRAWN, "withdrawn"),
        ):
            url = f"/voorstellen/{proposal_id}/{what}"
            responses = press_at_once(tabs, url, {"reason": ""})
            assert statuses(responses) == [303] * len(tabs)
            fresh()
            assert db.session.get(Proposal, proposal_id).state == state
            assert events(proposal_id, kind) == 1


# --- photos -----------------------------------------------------------------------------------


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (30, 120, 60)).save(out, "JPEG")
    return out.getvalue()


def files_of_photos() -> set[str]:
    """The files every stored photo should have: the photo and its thumbnails."""
    rows = db.session.execute(select(ProposalImage.filename, ProposalImage.thumb_widths))
    return {
        name
        for filename, widths in rows
        for name in (
            filename,
            *(thumbnails.thumb_name(filename, int(w)) for w in widths.split(",") if w),
        )
    }


def test_photos_added_at_once_stay_within_the_limit(app, scene, clients, make_round, make_proposal):
    """Six photos at once on a proposal with room for three: three are kept, and the refused
    ones leave no file behind."""
    tabs = clients(*[scene.author.email] * 6)
    rnd = make_round(scene.wijk, Phase.SUBMISSION)
    uploads = Path(app.config["UPLOAD_DIR"])
    data = jpeg()
    for _attempt in repeat():
        proposal_id = make_proposal(rnd, scene.author, State.SUBMITTED).id

        def contender(i: int, proposal_id: int = proposal_id) -> Any:
            client, token = tabs[i]
            url = f"/voorstellen/{proposal_id}/fotos"
            return lambda: send(
                client,
                token,
                url,
                {"photo": (io.BytesIO(data), "foto.jpg"), "alt": "De straat"},
                content_type="multipart/form-data",
            )

        responses = race(len(tabs), contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] * 3 + [422] * 3
        fresh()
        names = set(
            db.session.scalars(
                select(ProposalImage.filename).where(ProposalImage.proposal_id == proposal_id)
            )
        )
        assert len(names) == operations.MAX_IMAGES
        on_disk = {p.name for p in uploads.iterdir()}
        assert names <= on_disk
        assert on_disk == files_of_photos(), "a refused photo left its file behind"
        # removing one twice at once removes it once
        image_id = db.session.scalar(
            select(ProposalImage.id).where(ProposalImage.proposal_id == proposal_id).limit(1)
        )
        url = f"/voorstellen/{proposal_id}/fotos/{image_id}/verwijderen"
        responses = press_at_once(tabs[:4], url)
        assert all(code in (303, 404) for code in statuses(responses))
        fresh()
        assert (
            db.session.scalar(
                select(func.count(ProposalImage.id)).where(ProposalImage.proposal_id == proposal_id)
            )
            == 2
        )
        assert {p.name for p in uploads.iterdir()} == files_of_photos()


def test_estimates_and_duplicate_marks_twice_at_once_are_recorded_once(
    scene, clients, make_round, make_proposal
):
    board = clients(*[scene.board.email] * 4)
    rnd = make_round(scene.wijk, Phase.REVIEW)
    for _attempt in repeat():
        proposal_id = make_proposal(rnd, scene.author, State.SUBMITTED).id
        original_id = make_proposal(rnd, scene.author, State.SUBMITTED).id
        for what, data, kind in (
            ("kosten", {"amount": "2.000", "note": "Offerte hovenier"}, "estimate"),
            ("dubbel", {"original": f"#{original_id}", "note": ""}, "duplicate"),
        ):
            url = f"/wijk/{scene.slug}/bestuur/voorstellen/{proposal_id}/{what}"
            responses = press_at_once(board, url, data)
            assert statuses(responses) == [303] * len(board)
            fresh()
            assert events(proposal_id, kind) == 1


def test_two_board_members_marking_two_proposals_as_each_others_duplicate(
    scene, clients, make_round, make_proposal
):
    """A as B's duplicate and B as A's at the same moment: one of them, never a circle."""
    board = clients(scene.board.email, scene.board2.email)
    rnd = make_round(scene.wijk, Phase.REVIEW)
    for _attempt in repeat():
        a = make_proposal(rnd, scene.author, State.SUBMITTED).id
        b = make_proposal(rnd, scene.author, State.SUBMITTED).id

        def contender(i: int, a: int = a, b: int = b) -> Any:
            client, token = board[i]
            this, other = (a, b) if i == 0 else (b, a)
            url = f"/wijk/{scene.slug}/bestuur/voorstellen/{this}/dubbel"
            return lambda: send(client, token, url, {"original": str(other), "note": ""})

        responses = race(2, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303, 422]
        fresh()
        marks = {
            p.id: p.duplicate_of_id
            for p in db.session.scalars(select(Proposal).where(Proposal.id.in_([a, b])))
        }
        assert sorted(v is None for v in marks.values()) == [False, True]


def test_the_page_after_a_race_shows_the_count_of_rows(scene, clients, make_round, make_proposal):
    """What a visitor reads is the stored count: it is the number of rows."""
    rnd = make_round(scene.wijk, Phase.SUPPORT)
    residents = clients(*(r.email for r in scene.residents))
    proposal_id = make_proposal(rnd, scene.author, State.ADMITTED).id

    press_at_once(residents, f"/voorstellen/{proposal_id}/steun", {"want": "1"})
    body = residents[0][0].get(f"/voorstellen/{proposal_id}").get_data(as_text=True)
    assert re.search(rf"\b{N} keer gesteund", body)
