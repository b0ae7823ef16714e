"""Races of issue 22's photos on PostgreSQL: ``flask proposals thumbnails`` run twice at once
while the author removes a photo. Every photo that stays has its thumbnails recorded and on
disk; the removed one leaves no file behind; nothing fails. (Adding photos at once is
tests/test_races_proposals.py::test_photos_added_at_once_stay_within_the_limit.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.concurrency import (
    assert_no_server_errors,
    fresh,
    postgres_only,
    race,
    repeat,
    send,
)
from tests.test_photos import camera_jpeg, files_in, stored_photo
from wijkbudget import images, thumbnails
from wijkbudget.extensions import db
from wijkbudget.proposals import operations
from wijkbudget.proposals.models import ProposalImage
from wijkbudget.proposals.models import State as ProposalState
from wijkbudget.rounds.models import Phase

pytestmark = postgres_only


def test_the_thumbnails_command_twice_at_once_while_a_photo_is_removed(
    app, west, make_user, make_round, make_proposal, clients
):
    author = make_user("fatima@example.org", wijk=west)
    rnd = make_round(west, Phase.SUBMISSION)
    ((tab, token),) = clients(author.email)
    for _attempt in repeat():
        proposal = make_proposal(rnd, author, ProposalState.SUBMITTED)
        photos = [stored_photo(app, proposal, camera_jpeg(), thumbs=False) for _ in range(3)]
        proposal_id, removed_id = proposal.id, photos[1].id
        removed_name = photos[1].filename

        def contender(i: int, proposal_id: int = proposal_id, removed_id: int = removed_id) -> Any:
            if i == 2:
                url = f"/voorstellen/{proposal_id}/fotos/{removed_id}/verwijderen"
                return lambda: send(tab, token, url)

            def backfill() -> tuple[int, list[str]]:
                with app.app_context():
                    return operations.make_missing_thumbnails()

            return backfill

        results = race(3, contender)
        assert_no_server_errors([results[2]])
        assert results[2].status_code == 303
        for _made, problems in results[:2]:
            # the removed photo may be gone before it is read: then it is named, never a crash
            assert all(f"foto {removed_id} " in problem for problem in problems), problems
        fresh()
        kept = list(db_images(proposal_id))
        assert removed_id not in {image.id for image in kept} and len(kept) == 2
        directory = images.upload_dir(app)
        for image in kept:
            assert image.thumb_widths == "240,480"
            for width in (240, 480):
                assert (directory / thumbnails.thumb_name(image.filename, width)).is_file()
        stem = removed_name.split(".")[0]
        assert not [name for name in files_in(app) if name.startswith(stem)], "files left behind"


def db_images(proposal_id: int) -> Any:
    return db.session.scalars(select(ProposalImage).where(ProposalImage.proposal_id == proposal_id))
