"""Photos for the demo's proposals: simple pictures drawn with Pillow (no files in the
repository, nothing downloaded), each with its alt text, stored as an upload is (re-encoded by
``images.process_upload``, with thumbnails) so the cards, the ballot and the result of the demo
show photos. Called from ``demo.seed_demo_data`` inside its use case; a proposal that already
has a photo is left alone, so running the demo twice adds nothing.

The demo's rounds are partly past (their proposals can no longer be edited by their authors),
so the photos are attached directly, as ``demo.py`` adds last year's proposals directly."""

from __future__ import annotations

import io
from collections.abc import Callable

from flask import current_app
from PIL import Image, ImageDraw
from sqlalchemy import select

from . import images, thumbnails
from .extensions import db
from .neighbourhoods.models import Neighbourhood
from .proposals.models import Proposal, ProposalImage

WIDTH, HEIGHT = 960, 720
SKY, GRASS, BRICK, WOOD = (170, 205, 235), (96, 160, 80), (170, 90, 70), (140, 95, 55)

Draw = Callable[[ImageDraw.ImageDraw], None]


def _ground(draw: ImageDraw.ImageDraw, colour: tuple[int, int, int] = GRASS) -> None:
    draw.rectangle((0, 0, WIDTH, HEIGHT * 0.6), fill=SKY)
    draw.rectangle((0, HEIGHT * 0.6, WIDTH, HEIGHT), fill=colour)


def _planters(draw: ImageDraw.ImageDraw) -> None:
    _ground(draw, (150, 150, 150))
    draw.rectangle((0, 120, WIDTH, 432), fill=BRICK)  # the shop fronts
    for i in range(3):
        x = 80 + i * 300
        draw.rectangle((x, 470, x + 200, 600), fill=WOOD)
        for j in range(5):
            draw.ellipse((x + j * 40 - 10, 400, x + j * 40 + 40, 480), fill=(200, 60, 120))


def _benches(draw: ImageDraw.ImageDraw) -> None:
    _ground(draw)
    draw.ellipse((620, 60, 940, 380), fill=(60, 120, 60))  # a tree for shade
    draw.rectangle((765, 300, 795, 470), fill=WOOD)
    for i in range(2):
        x = 120 + i * 320
        draw.rectangle((x, 470, x + 240, 500), fill=WOOD)
        draw.rectangle((x, 420, x + 240, 440), fill=WOOD)
        draw.rectangle((x + 20, 500, x + 40, 580), fill=(60, 60, 60))
        draw.rectangle((x + 200, 500, x + 220, 580), fill=(60, 60, 60))


def _tool_cabinet(draw: ImageDraw.ImageDraw) -> None:
    _ground(draw, (180, 180, 170))
    draw.rectangle((300, 120, 660, 640), fill=(40, 100, 150))
    draw.line((480, 120, 480, 640), fill=(20, 60, 90), width=6)
    draw.rectangle((455, 360, 470, 420), fill=(230, 200, 60))  # the lock
    draw.line((700, 200, 760, 640), fill=(200, 200, 200), width=14)  # a ladder
    draw.line((800, 200, 860, 640), fill=(200, 200, 200), width=14)
    for y in range(240, 640, 70):
        draw.line(
            (705 + (y - 200) * 0.13, y, 805 + (y - 200) * 0.13, y), fill=(200, 200, 200), width=10
        )


def _football_cage(draw: ImageDraw.ImageDraw) -> None:
    _ground(draw, (70, 140, 70))
    for x in range(60, WIDTH - 40, 60):
        draw.line((x, 200, x, 620), fill=(90, 90, 90), width=3)
    for y in range(200, 640, 60):
        draw.line((60, y, WIDTH - 60, y), fill=(90, 90, 90), width=3)
    draw.ellipse((440, 520, 520, 600), fill=(250, 250, 250), outline=(20, 20, 20), width=4)


def _playground(draw: ImageDraw.ImageDraw) -> None:
    _ground(draw, (220, 200, 140))
    draw.polygon([(200, 600), (420, 260), (460, 260), (300, 600)], fill=(230, 80, 60))  # slide
    draw.rectangle((420, 260, 470, 620), fill=(60, 90, 170))
    draw.line((600, 200, 880, 200), fill=WOOD, width=16)  # swing
    for x in (620, 860):
        draw.line((x, 200, x, 620), fill=WOOD, width=16)
    for x in (690, 790):
        draw.line((x, 200, x, 480), fill=(50, 50, 50), width=4)
        draw.rectangle((x - 30, 480, x + 30, 500), fill=(230, 180, 40))


def _mural(draw: ImageDraw.ImageDraw) -> None:
    draw.rectangle((0, 0, WIDTH, HEIGHT), fill=(110, 110, 120))  # the tunnel wall
    colours = [(240, 80, 80), (250, 200, 60), (80, 180, 120), (70, 130, 220), (180, 90, 200)]
    for i, colour in enumerate(colours):
        draw.ellipse(
            (60 + i * 170, 160 + (i % 2) * 140, 300 + i * 170, 400 + (i % 2) * 140), fill=colour
        )
    draw.rectangle((0, 640, WIDTH, HEIGHT), fill=(70, 70, 70))


def _vegetable_garden(draw: ImageDraw.ImageDraw) -> None:
    _ground(draw, (120, 85, 55))
    draw.rectangle((620, 60, 900, 440), fill=(200, 190, 170))  # the flat behind
    for row in range(3):
        y = 470 + row * 80
        for x in range(60, WIDTH - 60, 90):
            draw.ellipse((x, y, x + 60, y + 50), fill=(70, 150, 60))


def _school_yard(draw: ImageDraw.ImageDraw) -> None:
    _ground(draw)
    draw.rectangle((60, 140, 560, 432), fill=BRICK)  # the school
    for x in range(100, 540, 110):
        draw.rectangle((x, 200, x + 70, 280), fill=SKY)
    for x in (640, 800):
        draw.ellipse((x - 90, 220, x + 90, 420), fill=(60, 130, 60))
        draw.rectangle((x - 12, 400, x + 12, 520), fill=WOOD)


#: title of a demo proposal → what its picture shows (its alt text) and how it is drawn
PICTURES: dict[str, tuple[str, Draw]] = {
    "Bloembakken in de Kanaalstraat": (
        "Drie houten bakken met roze bloemen voor een rij winkels",
        _planters,
    ),
    "Bankjes bij het Muntplein": ("Twee bankjes op het gras naast een boom", _benches),
    "Buurtkast met gereedschap": (
        "Een blauwe kast met een slot, met een ladder ernaast",
        _tool_cabinet,
    ),
    "Voetbalkooi opknappen": ("Een voetbalkooi met hekwerk en een bal op het gras", _football_cage),
    "Groene schoolpleinen": ("Een bakstenen school met bomen op het plein", _school_yard),
    "Bankjes langs de Kromme Rijn": ("Twee bankjes op het gras naast een boom", _benches),
    "Kunst in de tunnel": ("Een grijze tunnelmuur met gekleurde cirkels", _mural),
    "Moestuin bij de flat": (
        "Rijen groenteplanten in de aarde, met een flat erachter",
        _vegetable_garden,
    ),
    "Speelplek Oog in Al": ("Een rode glijbaan en een schommel op een zandveld", _playground),
}


def picture(draw: Draw) -> bytes:
    """A drawn picture as a JPEG file (as a camera would give one)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), SKY)
    draw(ImageDraw.Draw(image))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def add_demo_pictures(wijk: Neighbourhood) -> int:
    """Give the demo proposals of ``wijk`` without a photo their picture; returns how many.
    Joins the caller's use case (the demo's): writes the files first, then the rows."""
    directory = images.upload_dir(current_app)
    found = db.session.scalars(
        select(Proposal).where(
            Proposal.neighbourhood_id == wijk.id, Proposal.title.in_(list(PICTURES))
        )
    )
    added = 0
    for proposal in found:
        if proposal.images:
            continue
        alt, draw = PICTURES[proposal.title]
        processed = images.process_upload(io.BytesIO(picture(draw)))
        name = images.store(processed, directory)
        made = thumbnails.make(processed.data, processed.extension)
        proposal.images.append(
            ProposalImage(
                filename=name,
                content_type=processed.content_type,
                width=processed.width,
                height=processed.height,
                alt=alt,
                thumb_widths=thumbnails.write(directory, name, made),
            )
        )
        added += 1
    db.session.flush()
    return added
