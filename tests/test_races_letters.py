"""Races on the letters with voting codes, against the real PostgreSQL: the same upload form sent
from several tabs at once (a double click) makes one batch with one set of addresses; the PDF
asked for while another board member says the letters are printed either comes whole (the
download came first) or not at all (410), and the addresses are gone after."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.concurrency import (
    BoardScene,
    assert_no_server_errors,
    board_scene,
    count,
    fresh,
    postgres_only,
    race,
    repeat,
    send,
    statuses,
)
from tests.test_letters import address_list
from wijkbudget.extensions import db
from wijkbudget.rounds.models import Phase
from wijkbudget.voting import operations
from wijkbudget.voting.letters import parse_letters
from wijkbudget.voting.models import CodeBatch, LetterAddress

pytestmark = postgres_only

N = 4


@pytest.fixture
def scene(make_wijk, make_user, make_round) -> tuple[BoardScene, Any]:
    scene = BoardScene(**board_scene(make_wijk, make_user))
    return scene, make_round(scene.wijk, Phase.REVIEW)


def test_the_same_upload_from_several_tabs_at_once_makes_one_batch(scene, clients):
    scene, rnd = scene
    url = f"/wijk/{scene.slug}/bestuur/rondes/{rnd.id}/brieven"
    tabs = clients(*[scene.board.email] * N)
    for _attempt in repeat():
        page = tabs[0][0].get(url).get_data(as_text=True)
        form_token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
        before = count(CodeBatch)

        def contender(i: int, form_token: str = form_token) -> Any:
            client, token = tabs[i]
            sent = FileStorage(io.BytesIO(address_list(30).encode()), filename="adressen.csv")
            boundary, body = encode_multipart(
                {"csrf_token": token, "action": "upload", "form_token": form_token,
                 "addresses": sent}
            )  # fmt: skip
            kind = f"multipart/form-data; boundary={boundary}"
            return lambda: client.raw.post(url, data=body, content_type=kind)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert set(statuses(responses)) <= {303, 409}, statuses(responses)
        made = [r.headers["Location"] for r in responses if r.status_code == 303]
        assert made and len(set(made)) == 1  # whoever got through: the one batch
        refused = [r.get_data(as_text=True) for r in responses if r.status_code == 409]
        assert all("twee keer op de knop gedrukt" in body for body in refused)
        fresh()
        assert count(CodeBatch) == before + 1
        batch_id = int(made[0].rsplit("/", 1)[1])
        assert count(LetterAddress, LetterAddress.batch_id == batch_id) == 30


def test_the_pdf_and_printed_at_once_give_the_whole_pdf_or_none(scene, clients):
    scene, rnd = scene
    url = f"/wijk/{scene.slug}/bestuur/rondes/{rnd.id}/brieven"
    (henk, henk_token), (ria, ria_token) = clients(scene.board.email, scene.board2.email)
    lines = parse_letters(address_list(20).encode()).lines
    for _attempt in repeat():
        batch = operations.make_letters(scene.board, rnd, lines)
        here = f"{url}/{batch.id}"
        db.session.commit()

        def contender(i: int, here: str = here) -> Any:
            if i == 0:
                return lambda: send(henk, henk_token, f"{here}.pdf")
            return lambda: send(ria, ria_token, here, {"action": "printed"})

        download, printed = race(2, contender)
        assert_no_server_errors([download, printed])
        assert printed.status_code == 303
        assert download.status_code in {200, 410}, download.status_code
        if download.status_code == 200:  # came first: every letter is in it
            assert len(PdfReader(io.BytesIO(download.data)).pages) == 20
        fresh()
        assert count(LetterAddress, LetterAddress.batch_id == batch.id) == 0
        assert db.session.get(CodeBatch, batch.id).seed is None
