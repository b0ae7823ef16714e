"""Display names: what others see next to what a person writes. A name cannot hide characters
(direction-reversing or invisible ones), mix look-alike letters from other scripts, or pose as
a role of the site ("Henk (bestuur West)"). Checked when a name is chosen or changed; names
that already exist stay as they are."""

from __future__ import annotations

import unicodedata

from confusable_homoglyphs import confusables
from flask_babel import gettext as _

#: the longest name (the column is as long); a longer one is refused before it is looked at
NAME_MAX = 80
#: characters nobody sees: control and format characters (the direction overrides and isolates
#: U+202A–U+202E and U+2066–U+2069, the zero-width ones U+200B–U+200F and U+2060–U+2064, the
#: byte order mark U+FEFF, soft hyphen …), private use, unassigned, line and paragraph separators
HIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
#: letters and symbols that show as nothing at all (Hangul fillers, the braille blank)
BLANK_CHARACTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f"}
#: more accents than this on one letter stack over the lines above and below
MAX_MARKS_IN_A_ROW = 2

#: a word of the name containing one of these poses as a role ("Bestuurslid", "Wijkbeheer")
ROLE_PARTS = (
    "bestuur",
    "raadslid",
    "beheer",
    "moderator",
    "wijkbudget",
    "councillor",
    "councilor",
)
#: … or beginning or ending with one of these ("Sysadmin", "Administratie"; not "Badminton")
ROLE_EDGES = ("admin",)
#: … or being one of these
ROLE_WORDS = {"board", "mod", "gemeente", "official", "officieel"}
#: digits and signs written for the letters they resemble ("B3stuur", "@dmin"); 1 is tried as
#: an i and as an l
_LOOKALIKES = str.maketrans(
    {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s", "!": "i"}
)


def normalise_display_name(name: str) -> str:
    """The name as stored: NFKC (full-width letters become ordinary ones) without the spaces
    around it."""
    return unicodedata.normalize("NFKC", name or "").strip()


def display_name_problem(name: str) -> str | None:
    """Why this name cannot be chosen, in plain Dutch; None if it can."""
    if len(name or "") > 4 * NAME_MAX:  # NFKC makes some characters longer, never 4 times
        return _("Een naam mag hoogstens %(max)d tekens hebben.", max=NAME_MAX)
    name = normalise_display_name(name)
    if len(name) > NAME_MAX:
        return _("Een naam mag hoogstens %(max)d tekens hebben.", max=NAME_MAX)
    if _has_hidden_characters(name):
        return _(
            "In deze naam staan onzichtbare tekens, of tekens die de leesrichting omdraaien. "
            "Haal ze weg en typ de naam opnieuw."
        )
    # Latin mixed with letters of another script that look like Latin ones ("Вestuur" with a
    # Cyrillic В); a name wholly in one script, or with letters that look like no Latin one, is fine
    if confusables.is_dangerous(name, preferred_aliases=["latin"]):
        return _(
            "In deze naam staan letters uit verschillende schriften die op elkaar lijken. "
            "Schrijf je naam in één schrift."
        )
    if _poses_as_role(name):
        return _(
            "Een naam mag niet lijken op een rol op deze site, zoals bestuur, raadslid of "
            "beheerder. Kies een andere naam."
        )
    return None


def _has_hidden_characters(name: str) -> bool:
    marks = 0
    for char in name:
        category = unicodedata.category(char)
        if category in HIDDEN_CATEGORIES or char in BLANK_CHARACTERS:
            return True
        # NFKC makes every space an ordinary one; one that stays (Ogham) is no space to type
        if category == "Zs" and char != " ":
            return True
        marks = marks + 1 if category.startswith("M") else 0
        if marks > MAX_MARKS_IN_A_ROW:
            return True
    return False


def _folded(name: str) -> str:
    """Lower case, without accents, digits read as letters: "Bestüur", "ＢＥＳＴＵＵＲ" and
    "B3stuur" all become "bestuur"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.translate(_LOOKALIKES)


def _poses_as_role(name: str) -> bool:
    folded = _folded(name)
    return any(_words_pose(folded.replace("1", one)) for one in ("i", "l"))


def _words_pose(folded: str) -> bool:
    tokens = ["".join(char for char in token if char.isalnum()) for token in folded.split()]
    words = [token for token in tokens if token]
    # spaced-out letters read as one word: "b e s t u u r"
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        if len(run) > 1:
            words.append("".join(run))
        run = []
    return any(
        any(part in word for part in ROLE_PARTS)
        or word.startswith(ROLE_EDGES)
        or word.endswith(ROLE_EDGES)
        or word in ROLE_WORDS
        for word in words
    )
