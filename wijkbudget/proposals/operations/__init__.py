"""Proposal use cases: residents write, submit, edit and withdraw a bewonersbod, invite
co-submitters, add photos and support proposals; the board reviews in public.

Each public function is one use case (``@use_case``: one transaction, committed when it returns,
rolled back as a whole when a rule says no). It locks what its rule reads, checks the rule on the
model, changes, writes the public history (and the audit log for board decisions). Mail to the
authors and to invitees goes out after the commit (``after_commit``): a refused or rolled-back
attempt sends nothing. The lock order is in ``base``.

By concern: ``writing`` (make, change, submit, withdraw), ``coauthors`` (invitations),
``photos``, ``supports``, ``review`` (the board's decisions); ``base`` holds what they share.
The support threshold, a step of the round's move, lives in ``proposals.threshold``. Callers use
``from wijkbudget.proposals import operations; operations.submit(...)``: the names are here.
"""

from __future__ import annotations

from ..models import CoAuthor, ProposalError, ProposalEvent, ProposalImage
from ..threshold import apply_support_threshold
from .base import Forbidden, money
from .coauthors import (
    MAX_COAUTHORS,
    _invite_serializer,
    accept_invite,
    invite_coauthor,
    invite_expired,
    load_invite,
    withdraw_invite,
)
from .photos import MAX_IMAGES, add_image, image_path, make_missing_thumbnails, remove_image
from .review import admit, mark_duplicate, reject, request_changes, set_estimate
from .supports import SupportOutcome, set_support
from .writing import (
    MAX_COST_LINES,
    REPLAY_WINDOW,
    ProposalData,
    create_proposal,
    submit,
    update_proposal,
    withdraw,
)

__all__ = [
    "MAX_COAUTHORS",
    "MAX_COST_LINES",
    "MAX_IMAGES",
    "REPLAY_WINDOW",
    "CoAuthor",
    "Forbidden",
    "ProposalData",
    "ProposalError",
    "ProposalEvent",
    "ProposalImage",
    "SupportOutcome",
    "_invite_serializer",
    "accept_invite",
    "add_image",
    "admit",
    "apply_support_threshold",
    "create_proposal",
    "image_path",
    "make_missing_thumbnails",
    "invite_coauthor",
    "invite_expired",
    "load_invite",
    "mark_duplicate",
    "money",
    "reject",
    "remove_image",
    "request_changes",
    "set_estimate",
    "set_support",
    "submit",
    "update_proposal",
    "withdraw",
    "withdraw_invite",
]
