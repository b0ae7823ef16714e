"""Issue 22: photos on proposal cards, the ballot and the result — thumbnails (240 and 480 pixels
wide) made at upload and by ``flask proposals thumbnails``, served with cache headers, offered
in ``srcset``; alt text required; odd files refused with a Dutch message, nothing saved lost."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.conftest import stored_result
from tests.test_uploads import bomb
from wijkbudget import images, thumbnails
from wijkbudget.extensions import db
from wijkbudget.proposals import operations
from wijkbudget.proposals.models import ProposalError, ProposalImage
from wijkbudget.proposals.models import State as ProposalState
from wijkbudget.rounds.models import Phase
from wijkbudget.voting import ballot_page

ALT = "Een leeg grasveld naast de speeltuin"


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def camera_jpeg(width: int = 1200, height: int = 900) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "GeheimMerk"
    return encoded(Image.new("RGB", (width, height), (30, 120, 60)), "JPEG", exif=exif)


def animated(kind: str) -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    return encoded(frames[0], kind, save_all=True, append_images=frames[1:], duration=100)


def upload(client, proposal, data: bytes, *, name: str = "foto.jpg", alt: str = ALT):
    url = f"/voorstellen/{proposal.id}"
    return client.post(
        f"{url}/fotos",
        {"photo": (io.BytesIO(data), name), "alt": alt},
        page=url,
        content_type="multipart/form-data",
    )


def files_in(app) -> set[str]:
    root = Path(app.config["UPLOAD_DIR"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def stored_photo(app, proposal, data: bytes, *, alt: str = ALT, thumbs: bool = True):
    """A photo put straight in (as one stored before, or in a phase where nobody can add one
    any more): the file, and its thumbnails when ``thumbs``."""
    processed = images.process_upload(io.BytesIO(data))
    directory = images.upload_dir(app)
    name = images.store(processed, directory)
    widths = thumbnails.make_and_write(directory, name) if thumbs else ""
    image = ProposalImage(
        proposal_id=proposal.id,
        filename=name,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        alt=alt,
        thumb_widths=widths,
    )
    db.session.add(image)
    db.session.commit()
    return image


@pytest.fixture
def fatima(west, make_user):
    return make_user("fatima@example.org", wijk=west, name="Fatima")


@pytest.fixture
def proposal(west, fatima, make_round, make_proposal):
    return make_proposal(make_round(west, Phase.SUBMISSION), fatima, ProposalState.SUBMITTED)


@pytest.fixture
def me(make_client, fatima):
    client = make_client()
    client.login(fatima.email)
    return client


# --- made and served ---------------------------------------------------------------------------


def test_an_upload_gets_thumbnails_that_are_served_with_cache_headers(app, proposal, me, client):
    response = upload(me, proposal, camera_jpeg())
    assert response.status_code == 303
    image = db.session.scalar(select(ProposalImage))
    assert image.thumb_widths == "240,480"
    assert image.thumbnails == [(240, 180), (480, 360)]
    directory = images.upload_dir(app)
    for width, height in image.thumbnails:
        url = f"/voorstellen/{proposal.id}/fotos/{image.id}/{width}"
        served = client.get(url)
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        data = served.get_data()
        served.close()
        assert data == (directory / thumbnails.thumb_name(image.filename, width)).read_bytes()
        with Image.open(io.BytesIO(data)) as thumb:
            assert thumb.size == (width, height)
        assert b"Exif" not in data and b"GeheimMerk" not in data
        cache = served.headers["Cache-Control"]
        assert "public" in cache and f"max-age={thumbnails.MAX_AGE}" in cache
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        # asked again with what the browser kept: 304, nothing sent again
        again = client.get(url, headers={"If-None-Match": served.headers["ETag"]})
        assert again.status_code == 304
        again.close()
    # only the widths made are served
    assert client.get(f"/voorstellen/{proposal.id}/fotos/{image.id}/300").status_code == 404


def test_a_narrow_png_with_transparency_keeps_it_and_is_never_enlarged(app, proposal, me):
    picture = Image.new("RGBA", (300, 150), (255, 0, 0, 0))
    picture.putpixel((0, 0), (0, 0, 255, 255))
    assert upload(me, proposal, encoded(picture, "PNG"), name="logo.png").status_code == 303
    image = db.session.scalar(select(ProposalImage))
    assert image.thumb_widths == "240,300"
    for width, height in image.thumbnails:
        path = images.upload_dir(app) / thumbnails.thumb_name(image.filename, width)
        with Image.open(path) as thumb:
            thumb.load()
        assert thumb.format == "PNG" and thumb.mode == "RGBA" and thumb.size == (width, height)
        assert thumb.getpixel((width - 1, height - 1))[3] == 0  # transparent stays transparent


def test_a_cmyk_jpeg_is_taken_as_an_rgb_photo(app, proposal, me):
    data = encoded(Image.new("CMYK", (800, 400), (0, 80, 80, 0)), "JPEG")
    assert upload(me, proposal, data).status_code == 303
    image = db.session.scalar(select(ProposalImage))
    path = images.upload_dir(app) / thumbnails.thumb_name(image.filename, 240)
    with Image.open(path) as thumb:
        assert thumb.mode == "RGB"


def test_removing_a_photo_removes_its_thumbnails(app, proposal, me):
    assert upload(me, proposal, camera_jpeg()).status_code == 303
    image = db.session.scalar(select(ProposalImage))
    assert len(files_in(app)) == 3
    url = f"/voorstellen/{proposal.id}/fotos/{image.id}/verwijderen"
    assert me.post(url, {}, page=f"/voorstellen/{proposal.id}").status_code == 303
    assert files_in(app) == set()


# --- alt text -------------------------------------------------------------------------------


@pytest.mark.parametrize("alt", ["", "   "])
def test_alt_text_is_required(app, proposal, me, alt):
    response = upload(me, proposal, camera_jpeg(), alt=alt)
    assert response.status_code == 422
    assert "Schrijf in een paar woorden wat er op de foto staat" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ProposalImage.id))) == 0
    assert files_in(app) == set()


def test_the_operation_refuses_a_photo_without_alt_text_too(app, proposal, fatima):
    with pytest.raises(ProposalError, match="wat er op de foto staat"):
        operations.add_image(fatima, proposal, io.BytesIO(camera_jpeg()), " ")
    assert files_in(app) == set()


def test_a_photo_stored_before_without_alt_text_is_decorative(app, proposal, client):
    image = stored_photo(app, proposal, camera_jpeg(), alt="")
    rnd = proposal.round
    page = client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/voorstellen")
    html = page.get_data(as_text=True)
    tag = re.search(rf"<img [^>]*fotos/{image.id}/[^>]*>", html)
    assert tag is not None and 'alt=""' in tag.group(0)


# --- odd files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (b"", "leeg.jpg", 422, "Het bestand is leeg"),
        (b"\xff\xd8\xff\xe0 dit is geen jpeg", "kapot.jpg", 422, "geen foto in JPEG-"),
        (camera_jpeg()[:300], "afgebroken.jpg", 422, "geen foto in JPEG-"),
        (b"\xff" * 200_001, "groot.jpg", 422, "groter dan 0,2 MB"),
        (bomb(), "bom.png", 422, "te veel pixels"),
        (animated("PNG"), "bewegend.png", 422, "bewegende afbeelding"),
        (animated("WEBP"), "bewegend.webp", 422, "bewegende afbeelding"),
        (encoded(Image.new("RGB", (40, 30)), "GIF"), "plaatje.gif", 422, "geen foto in JPEG-"),
    ],
    ids=["empty", "corrupt", "truncated", "too-many-bytes", "bomb", "apng", "animated-webp", "gif"],
)
def test_odd_files_are_refused_in_dutch_and_nothing_saved_is_lost(
    app, proposal, me, data, name, status, message
):
    # the limit is 5 MB; a smaller one here keeps the test client's upload in memory
    app.config["UPLOAD_MAX_BYTES"] = 200_000
    assert upload(me, proposal, camera_jpeg()).status_code == 303
    before = files_in(app)
    kept = db.session.scalar(select(ProposalImage))

    response = upload(me, proposal, data, name=name)

    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert files_in(app) == before  # no new file, and the photo there still has its files
    db.session.expire_all()
    assert [i.id for i in db.session.scalars(select(ProposalImage))] == [kept.id]
    served = me.get(f"/voorstellen/{proposal.id}/fotos/{kept.id}/240")
    assert served.status_code == 200
    served.close()


# --- on the cards, the ballot and the result ------------------------------------------------


def srcset_of(html: str, proposal_id: int, image_id: int) -> str:
    base = f"/voorstellen/{proposal_id}/fotos/{image_id}"
    tag = re.search(rf'<img [^>]*srcset="[^"]*{base}/[^>]*>', html)
    assert tag is not None, f"no srcset for photo {image_id}"
    img = tag.group(0)
    assert f'srcset="{base}/240 240w, {base}/480 480w"' in img, img
    assert 'sizes="' in img and 'loading="lazy"' in img
    assert 'width="480"' in img and 'height="360"' in img
    assert f'alt="{ALT}"' in img
    return img


def test_cards_show_the_photo_with_srcset(app, proposal, me, client):
    assert upload(me, proposal, camera_jpeg()).status_code == 303
    image = db.session.scalar(select(ProposalImage))
    rnd = proposal.round
    html = client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/voorstellen").get_data(
        as_text=True
    )
    srcset_of(html, proposal.id, image.id)


def test_the_ballot_shows_the_photo_with_srcset(app, west, voting_round, make_user, make_client):
    rnd, proposals = voting_round
    image = stored_photo(app, proposals[0], camera_jpeg())
    voter = make_user("kiezer@example.org", wijk=west)
    me = make_client()
    me.login(voter.email)
    html = me.get(f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen").get_data(as_text=True)
    srcset_of(html, proposals[0].id, image.id)
    # the proposal without a photo has no image
    assert html.count("<img ") == 1


def test_the_result_shows_the_photo_with_srcset(app, west, board, voting_round, client):
    rnd, proposals = voting_round
    image = stored_photo(app, proposals[0], camera_jpeg())
    db.session.add(stored_result(rnd, proposals[0], board, ballots=3))
    rnd.phase = Phase.CLOSED
    db.session.commit()
    html = client.get(f"/wijk/{west.slug}/rondes/{rnd.id}/uitslag").get_data(as_text=True)
    srcset_of(html, proposals[0].id, image.id)


# --- photos stored before: the command ------------------------------------------------------------


@pytest.fixture
def app_config(app_config, request):
    """The page cache off, as in every test, unless a test asks for it (indirect parameter)."""
    return {**app_config, "PAGE_CACHE_SECONDS": getattr(request, "param", 0)}


@pytest.mark.parametrize("app_config", [60], indirect=True)
def test_the_command_makes_missing_thumbnails_and_the_cached_ballot_follows(
    app, west, voting_round
):
    """With the page cache on, the ballot's items are built once per change: the command's
    change rebuilds them, so the ballot offers the new thumbnails."""
    rnd, proposals = voting_round
    image = stored_photo(app, proposals[0], camera_jpeg(), thumbs=False)
    gone = stored_photo(app, proposals[1], camera_jpeg(), thumbs=False)
    (images.upload_dir(app) / gone.filename).unlink()

    with app.test_request_context("/"):
        before = "".join(ballot_page.ballot_items(rnd)[0].values())
    assert "srcset" not in before and f"fotos/{image.id}" in before  # the photo itself

    result = app.test_cli_runner().invoke(args=["proposals", "thumbnails"])
    assert "1 foto('s) kregen thumbnails." in result.output
    assert f"foto {gone.id}" in result.output and result.exit_code == 1
    db.session.expire_all()
    assert db.session.get(ProposalImage, image.id).thumb_widths == "240,480"
    assert db.session.get(ProposalImage, gone.id).thumb_widths == ""
    assert thumbnails.thumb_name(image.filename, 480) in {
        p.name for p in images.upload_dir(app).iterdir()
    }

    with app.test_request_context("/"):
        after = "".join(ballot_page.ballot_items(rnd)[0].values())
    assert f'srcset="/voorstellen/{proposals[0].id}/fotos/{image.id}/240 240w' in after

    again = app.test_cli_runner().invoke(args=["proposals", "thumbnails"])
    assert "0 foto('s) kregen thumbnails." in again.output


# --- reading writes nothing, and no photo of another proposal ----------------------------------


def test_serving_writes_nothing_and_missing_thumbnails_are_404(app, proposal, me, client):
    image = stored_photo(app, proposal, camera_jpeg(), thumbs=False)
    before = files_in(app)
    for width in thumbnails.WIDTHS:
        assert client.get(f"/voorstellen/{proposal.id}/fotos/{image.id}/{width}").status_code == 404
    served = client.get(f"/voorstellen/{proposal.id}/fotos/{image.id}")
    assert served.status_code == 200
    served.close()
    assert files_in(app) == before
    db.session.expire_all()
    assert db.session.get(ProposalImage, image.id).thumb_widths == ""


def test_a_photo_is_only_served_under_its_own_visible_proposal(
    app, oost, proposal, make_round, make_proposal, make_user, client
):
    mine = stored_photo(app, proposal, camera_jpeg())
    elsewhere = make_proposal(
        make_round(oost, Phase.SUBMISSION),
        make_user("piet@example.org", wijk=oost),
        ProposalState.SUBMITTED,
    )
    theirs = stored_photo(app, elsewhere, camera_jpeg())
    for suffix in ("", "/240", "/480"):
        assert (
            client.get(f"/voorstellen/{proposal.id}/fotos/{theirs.id}{suffix}").status_code == 404
        )
        assert client.get(f"/voorstellen/{elsewhere.id}/fotos/{mine.id}{suffix}").status_code == 404
    # a concept is not public: nor are its photos
    proposal.state = ProposalState.CONCEPT
    db.session.commit()
    assert client.get(f"/voorstellen/{proposal.id}/fotos/{mine.id}/240").status_code == 404


# --- the demo ------------------------------------------------------------------------------------


def test_the_demo_proposals_have_photos_with_thumbnails_and_alt_text(app, client):
    assert app.test_cli_runner().invoke(args=["demo-data"]).exit_code == 0
    photos = list(db.session.scalars(select(ProposalImage)))
    assert len(photos) >= 6
    assert all(p.alt and p.thumb_widths == "240,480" for p in photos)
    assert {f"{p.filename}" for p in photos} <= files_in(app)
    # the demo again adds nothing
    assert app.test_cli_runner().invoke(args=["demo-data"]).exit_code == 0
    assert db.session.scalar(select(func.count(ProposalImage.id))) == len(photos)
    open_round = photos[0].proposal.round
    slug = open_round.neighbourhood.slug
    html = client.get(f"/wijk/{slug}/rondes/{open_round.id}/voorstellen").get_data(as_text=True)
    assert html.count(" 480w") >= 2
