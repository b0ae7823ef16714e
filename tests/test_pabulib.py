"""The .pb reader and writer: the quirks of real files, the errors (with their line), the canonical
output, round trips, agreement with pabutools' parser and with pabulib's own checker."""

from __future__ import annotations

import contextlib
import io
import itertools
from fractions import Fraction
from pathlib import Path

import pytest

from wijkbudget.tally import pabulib
from wijkbudget.tally.model import BallotKind, Election, Project
from wijkbudget.tally.pabulib import PabulibError

DATA = Path(__file__).parent / "data" / "pabulib"

# two projects, two voters: the small file the tests of the reader and of `flask tally` share
BASE = (DATA.parent / "small_approval.pb").read_text()


def pb(
    projects: str = "P1;100;Een\nP2;200;Twee\n",
    votes: str = "1;P1,P2\n2;P2\n",
    *,
    meta: str = "budget;1000\nvote_type;approval\n",
    project_header: str = "project_id;cost;name",
    vote_header: str = "voter_id;vote",
) -> str:
    return (
        f"META\nkey;value\n{meta}PROJECTS\n{project_header}\n{projects}"
        f"VOTES\n{vote_header}\n{votes}"
    )


# --- reading ----------------------------------------------------------------------------------


def test_a_plain_file():
    election = pabulib.parse(BASE)
    assert election.projects == {"P1": Project("P1", 100, "Een"), "P2": Project("P2", 200, "Twee")}
    assert election.budget == 1000 and election.scale == 1
    assert election.kind is BallotKind.APPROVAL
    assert election.ballots == [{"P1": 1, "P2": 1}, {"P2": 1}]
    assert election.voters == 2
    assert election.meta == {"budget": "1000", "vote_type": "approval"}
    assert election.selected is None and election.notes == []


def test_crlf_line_endings_and_a_byte_order_mark():
    text = "\ufeff" + BASE.replace("\n", "\r\n")
    assert pabulib.parse(text) == pabulib.parse(BASE)


def test_read_from_disk_with_bom_and_crlf(tmp_path):
    path = tmp_path / "crlf.pb"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.replace("\n", "\r\n").encode())
    assert pabulib.read(path) == pabulib.parse(BASE)


def test_quoted_fields_with_semicolons_and_newlines():
    text = pb('P1;100;"Bankjes; drie stuks"\nP2;200;"Twee\nregels"\n', "1;P1\n2;P9\n")
    with pytest.raises(PabulibError) as info:
        pabulib.parse(text)
    assert info.value.line == 13  # the name over two lines moves the rest one line down
    election = pabulib.parse(text.replace("P9", "P2"))
    assert election.projects["P1"].name == "Bankjes; drie stuks"
    assert election.projects["P2"].name == "Twee\nregels"


def test_decimal_costs_and_budget_are_scaled_consistently():
    election = pabulib.parse(
        pb("P1;1234.50;Een\nP2;200;Twee\nP3;0.05;Drie\n", meta="budget;5000.5\n")
    )
    assert election.scale == 100
    assert election.budget == 500_050
    assert {p.id: p.cost for p in election.projects.values()} == {
        "P1": 123_450,
        "P2": 20_000,
        "P3": 5,
    }


def test_only_zeros_after_the_point_need_no_scale():
    election = pabulib.parse(pb("P1;100.0;Een\nP2;200.00;Twee\n", meta="budget;400000.0\n"))
    assert election.scale == 1
    assert election.budget == 400_000 and election.projects["P1"].cost == 100


def test_one_decimal_is_scale_ten():
    election = pabulib.parse(pb("P1;12.5;Een\nP2;200;Twee\n"))
    assert election.scale == 10
    assert election.budget == 10_000 and election.projects["P1"].cost == 125


def test_text_project_ids_and_spaces_around_values():
    election = pabulib.parse(pb(" a-1 ; 100 ;  Een \nP 2;200;Twee\n", "1; a-1 ,P 2\n"))
    assert list(election.projects) == ["a-1", "P 2"]
    assert election.projects["a-1"] == Project("a-1", 100, "Een")
    assert election.ballots == [{"a-1": 1, "P 2": 1}]


def test_a_project_named_twice_on_a_ballot_counts_once():
    election = pabulib.parse(pb(votes="1;P1,P2,P1\n2;P2,P2\n"))
    assert election.ballots == [{"P1": 1, "P2": 1}, {"P2": 1}]


def test_a_project_dearer_than_the_budget_is_kept():
    election = pabulib.parse(pb("P1;100;Een\nP2;5000;Duur\n"))
    assert election.projects["P2"].cost == 5000 > election.budget


def test_an_empty_vote_is_a_voter_with_an_empty_ballot():
    election = pabulib.parse(pb(votes="1;P1\n2;\n3\n4;;\n"))
    assert election.voters == 4
    assert election.ballots == [{"P1": 1}, {}, {}, {}]


def test_empty_lines_are_skipped():
    text = BASE.replace("PROJECTS\n", "\nPROJECTS\n").replace("2;P2\n", "\n2;P2\n\n\n")
    assert pabulib.parse(text) == pabulib.parse(BASE)


def test_ballots_are_separate_objects():
    election = pabulib.parse(pb(votes="1;P1\n2;P1\n"))
    election.ballots[0]["P2"] = 1
    assert election.ballots[1] == {"P1": 1}


def test_choose_one_is_approval():
    election = pabulib.parse(pb(votes="1;P1\n2;P2\n", meta="budget;1000\nvote_type;choose-1\n"))
    assert election.kind is BallotKind.APPROVAL
    assert election.ballots == [{"P1": 1}, {"P2": 1}]


@pytest.mark.parametrize(
    ("vote_type", "votes", "ballots"),
    [
        pytest.param("cumulative", "1;P1,P2,P1;3,2,5\n", [{"P1": 3, "P2": 2}],
                     id="the first mention counts"),
        pytest.param("cumulative", "1;P1,P2;0,4\n2;P1;0\n", [{"P2": 4}, {}],
                     id="zero points are dropped"),
        pytest.param("scoring", "1;P1,P2;2,1\n", [{"P1": 2, "P2": 1}],
                     id="scoring is read as cumulative"),
    ],
)  # fmt: skip
def test_points_ballots(vote_type, votes, ballots):
    text = pb(
        votes=votes,
        meta=f"budget;1000\nvote_type;{vote_type}\n",
        vote_header="voter_id;vote;points",
    )
    election = pabulib.parse(text)
    assert election.kind is BallotKind.CUMULATIVE
    assert election.ballots == ballots


def test_points_are_ignored_for_approval():
    text = pb(votes="1;P1,P2;2,1\n", vote_header="voter_id;vote;points")
    assert pabulib.parse(text).ballots == [{"P1": 1, "P2": 1}]


def test_ordinal_keeps_the_ranking_and_says_how_it_is_counted():
    election = pabulib.parse(
        pb(
            "P1;100;Een\nP2;200;Twee\nP3;300;Drie\n",
            "1;P3,P1,P2\n2;P2,P3\n",
            meta="budget;1000\nvote_type;ordinal\n",
        )
    )
    assert election.kind is BallotKind.ORDINAL
    assert [list(b) for b in election.ballots] == [["P3", "P1", "P2"], ["P2", "P3"]]
    assert all(set(b.values()) == {1} for b in election.ballots)
    assert len(election.notes) == 1 and "approval" in election.notes[0]


def test_selected_column():
    election = pabulib.parse(
        pb(
            "P1;100;Een;1\nP2;200;Twee;0\nP3;300;Drie;2\n",
            project_header="project_id;cost;name;selected",
        )
    )
    assert election.selected == {"P1"}  # 2 (funded outside the count, Gdynia) is not "1"


def test_other_columns_in_any_order():
    election = pabulib.parse(
        pb(
            "Groen;100;P1;12\nJeugd;200;P2;3\n",
            "Anna;P1;34;F\n",
            project_header="category;cost;project_id;votes",
            vote_header="voter_id;vote;age;sex",
        )
    )
    assert election.projects == {"P1": Project("P1", 100), "P2": Project("P2", 200)}
    assert election.ballots == [{"P1": 1}]


def test_meta_without_its_header_row():
    text = BASE.replace("key;value\n", "")
    assert pabulib.parse(text).budget == 1000


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (BASE.replace("2;P2\n", "2;P17\n"), 12, "onbekend project 'P17'"),
        (BASE.replace("1;P1,P2\n", "1;P1, X\n"), 11, "onbekend project 'X'"),
        (BASE.split("VOTES")[0], 8, "het deel VOTES ontbreekt"),
        (
            BASE.replace("PROJECTS\nproject_id;cost;name\nP1;100;Een\nP2;200;Twee\n", ""),
            5,
            "het deel PROJECTS ontbreekt",
        ),
        (
            BASE.replace("META\nkey;value\nbudget;1000\nvote_type;approval\n", ""),
            1,
            "het deel META ontbreekt",
        ),
        ("budget;1000\n" + BASE, 1, "begint niet met META"),
        (BASE + "VOTES\nvoter_id;vote\n", 13, "twee keer"),
        (BASE.replace("budget;1000\n", ""), 1, "budget ontbreekt"),
        (BASE.replace("budget;1000", "budget;veel"), 3, "het budget: 'veel' is geen getal"),
        (BASE.replace("P2;200;", "P2;twee;"), 8, "de kosten van project 'P2': 'twee' is geen"),
        (BASE.replace("P2;200;", "P2;;"), 8, "project 'P2': geen bedrag ingevuld"),
        (BASE.replace("P2;200;", "P2;1,5;"), 8, "geen getal"),
        (BASE.replace("P2;200;", "P2;-200;"), 8, "project 'P2': negatief bedrag (-200)"),
        (BASE.replace("budget;1000", "budget;-1"), 3, "het budget: negatief bedrag (-1)"),
        (BASE.replace("vote_type;approval", "vote_type;ranked"), 4, "onbekend stemtype 'ranked'"),
        (BASE.replace("P2;200;Twee", "P1;200;Twee"), 8, "project 'P1' staat twee keer"),
        (BASE.replace("project_id;cost;name", "project_id;prijs;name"), 6, "kolom 'cost'"),
        (BASE.replace("voter_id;vote", "voter_id;stem"), 10, "kolom 'vote'"),
        (BASE.replace("P1;100;Een", ";100;Een"), 7, "zonder project_id"),
        (BASE.replace("PROJECTS\nproject_id;cost;name", "PROJECTS"), 6, "kolom 'project_id'"),
        (BASE.replace("voter_id;vote\n1;P1,P2\n2;P2\n", ""), 9, "kopregel van VOTES"),
        ("", 1, "leeg"),
        ("\n \r\n", 1, "leeg"),
    ],
)
def test_errors_name_the_line(text, line, message):
    with pytest.raises(PabulibError) as info:
        pabulib.parse(text)
    assert info.value.line == line
    assert message in str(info.value)
    assert str(info.value).startswith(f"regel {line}: ")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_errors_in_crlf_files_name_the_same_line():
    text = BASE.replace("2;P2\n", "2;P17\n").replace("\n", "\r\n")
    with pytest.raises(PabulibError, match=r"^regel 12: onbekend project 'P17'$"):
        pabulib.parse(text)


CUMULATIVE = pb(
    votes="1;P1,P2;3,2\n2;P2;5\n",
    meta="budget;1000\nvote_type;cumulative\n",
    vote_header="voter_id;vote;points",
)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("2;P2;5", "2;P2;5,1", 12, "1 project(en) in 'vote' maar 2 getal(len) in 'points'"),
        ("1;P1,P2;3,2", "1;P1,P2;3", 11, "2 project(en) in 'vote' maar 1"),
        ("2;P2;5", "2;P2;", 12, "maar 0"),
        ("2;P2;5", "2;P2;veel", 12, "punten 'veel' zijn geen geheel getal"),
        ("2;P2;5", "2;P2;2.5", 12, "geen geheel getal"),
        ("2;P2;5", "2;P2;-5", 12, "negatieve punten"),
        ("voter_id;vote;points", "voter_id;vote", 10, "kolom 'points'"),
    ],
)
def test_point_errors(old, new, line, message):
    with pytest.raises(PabulibError) as info:
        pabulib.parse(CUMULATIVE.replace(old, new))
    assert info.value.line == line and message in info.value.message


def test_points_written_as_decimals_of_whole_numbers():
    assert pabulib.parse(CUMULATIVE.replace("2;P2;5", "2;P2;5.0")).ballots[1] == {"P2": 5}


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.pb"
    path.write_bytes(BASE.replace("Twee", "Tw\xe9e").encode("latin-1"))
    with pytest.raises(PabulibError, match="^regel 8: .*UTF-8"):
        pabulib.read(path)


def test_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        pabulib.read(tmp_path / "er-niet.pb")


# --- writing ----------------------------------------------------------------------------------


def election(**changes) -> Election:
    fields = {
        "projects": {
            "1": Project("1", 123_450, "Bankjes; drie stuks"),
            "2": Project("2", 500_000, 'Groen "dak"'),
            "3": Project("3", 300_000, "Moestuin"),
        },
        "budget": 600_000,
        "kind": BallotKind.APPROVAL,
        "ballots": [{"1": 1, "2": 1}, {"2": 1}, {"3": 1, "1": 1}],
        "scale": 100,
        "meta": {
            "description": "wijkbudget: West — Wijkbudget West 2026",
            "country": "Netherlands",
            "unit": "West",
            "instance": "Wijkbudget West 2026",
            "currency": "EUR",
            "rule": "equal-shares",
            "date_begin": "01.03.2026",
            "date_end": "15.03.2026",
            "language": "nl",
            "num_votes": "999",  # stale: rewritten
            "categories": "groen,jeugd",  # no category column is written: dropped
            "tie": "x",  # not a pabulib key: dropped
        },
    }
    fields.update(changes)
    return Election(**fields)


def test_dumps_is_canonical():
    text = pabulib.dumps(election())
    assert text == (
        "META\n"
        "key;value\n"
        "description;wijkbudget: West — Wijkbudget West 2026\n"
        "country;Netherlands\n"
        "unit;West\n"
        "instance;Wijkbudget West 2026\n"
        "num_projects;3\n"
        "num_votes;3\n"
        "budget;6000.00\n"
        "vote_type;approval\n"
        "rule;equalshares/add1\n"
        "date_begin;01.03.2026\n"
        "date_end;15.03.2026\n"
        "language;nl\n"
        "currency;EUR\n"
        "PROJECTS\n"
        "project_id;cost;votes;name\n"
        '1;1234.50;2;"Bankjes; drie stuks"\n'
        '2;5000.00;2;"Groen ""dak"""\n'
        "3;3000.00;1;Moestuin\n"
        "VOTES\n"
        "voter_id;vote\n"
        "1;1,2\n"
        "2;2\n"
        "3;3,1\n"
    )
    assert text == pabulib.dumps(election())  # deterministic
    assert "\r" not in text


def test_dumps_whole_amounts_cumulative_and_selected():
    e = election(
        scale=1,
        budget=6000,
        projects={"a": Project("a", 1000, "A"), "b": Project("b", 2500, "B\nmet een enter ")},
        kind=BallotKind.CUMULATIVE,
        ballots=[{"a": 3, "b": 2}, {}, {"b": 5}],
        selected={"b"},
        meta={"rule": "greedy"},
    )
    assert pabulib.dumps(e) == (
        "META\nkey;value\nnum_projects;2\nnum_votes;3\nbudget;6000\nvote_type;cumulative\n"
        "rule;greedy\n"
        "PROJECTS\nproject_id;cost;votes;score;name;selected\n"
        "a;1000;1;3;A;0\nb;2500;2;7;B met een enter;1\n"
        "VOTES\nvoter_id;vote;points\n1;a,b;3,2\n2;;\n3;b;5\n"
    )


def test_ordinal_is_written_in_ranking_order():
    e = election(kind=BallotKind.ORDINAL, ballots=[{"3": 1, "1": 1, "2": 1}])
    text = pabulib.dumps(e)
    assert "vote_type;ordinal\n" in text and text.endswith("voter_id;vote\n1;3,1,2\n")


@pytest.mark.parametrize(
    ("rule", "written"),
    [
        ("greedy", "greedy"),
        ("equal-shares", "equalshares/add1"),
        ("equal-shares/none", "equalshares"),
        ("equalshares/add1-comparison", "equalshares/add1-comparison"),
        ("iets anders", "unknown"),
    ],
)
def test_rule_names_are_pabulib_names(rule, written):
    e = election(meta={"rule": rule})
    assert f"\nrule;{written}\n" in pabulib.dumps(e)


def test_dumps_refuses_what_it_cannot_write():
    with pytest.raises(ValueError, match="cannot be written"):
        pabulib.dumps(election(projects={"1,2": Project("1,2", 5)}, ballots=[]))
    with pytest.raises(ValueError, match="not in the election"):
        pabulib.dumps(election(ballots=[{"9": 1}]))
    with pytest.raises(ValueError, match="power of ten"):
        pabulib.dumps(election(scale=3))


def test_money():
    assert pabulib.money(123_450, 100) == "1234.50"
    assert pabulib.money(5, 100) == "0.05"
    assert pabulib.money(125, 10) == "12.5"
    assert pabulib.money(7, 1) == "7"
    assert pabulib.money(Fraction(250, 1), 100) == "2.50"
    with pytest.raises(ValueError):
        pabulib.money(Fraction(1, 2), 100)


def test_write_and_read(tmp_path):
    path = tmp_path / "uit.pb"
    pabulib.write(election(), path)
    assert path.read_bytes() == pabulib.dumps(election()).encode()
    assert_same(pabulib.read(path), election())


def assert_same(a: Election, b: Election) -> None:
    assert a.projects == b.projects
    assert list(a.projects) == list(b.projects)
    assert (a.budget, a.scale, a.kind, a.selected) == (b.budget, b.scale, b.kind, b.selected)
    assert a.ballots == b.ballots
    if a.kind is BallotKind.ORDINAL:
        assert [list(x) for x in a.ballots] == [list(x) for x in b.ballots]


def test_round_trip_inline():
    for e in (
        election(),
        election(scale=10, budget=60_000, projects={"1": Project("1", 125, "a")}, ballots=[{}]),
        election(kind=BallotKind.CUMULATIVE, ballots=[{"1": 2, "3": 1}, {}], selected=set()),
        election(kind=BallotKind.ORDINAL, ballots=[{"3": 1, "1": 1}, {"2": 1}]),
    ):
        assert_same(pabulib.parse(pabulib.dumps(e)), e)


REAL = sorted(DATA.glob("*.pb"))


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem[:40])
def test_round_trip_real_files(path):
    original = pabulib.read(path)
    text = pabulib.dumps(original)
    again = pabulib.parse(text)
    assert_same(again, original)
    assert pabulib.dumps(again) == text
    assert again.notes == original.notes


def test_real_files_with_decimals():
    election = pabulib.read(DATA / "Poland_Warszawa_2019_Grochow_Kinowa.pb")
    assert election.scale == 100 and election.budget == 22_217_685
    assert "budget;222176.85\n" in pabulib.dumps(election)


# --- agreement with pabutools and with pabulib's checker -------------------------------------

AGREE = [
    "Netherlands_Assen_2024.pb",
    "Poland_Wieliczka_2023_Green_Budget.pb",
    "Poland_Warszawa_2019_Grochow_Kinowa.pb",
    "France_Toulouse_2019.pb",
    "Switzerland_Zurich_S5R.pb",
    "US_Stanford_Dataset_Your_Voice_Your_Choice_Parks_and_Streets-_Seattle_2019_District_5_vote_rankings.pb",
]


@pytest.mark.parametrize("name", AGREE, ids=lambda n: n[:40])
def test_agrees_with_pabutools(name):
    from pabutools.election import parse_pabulib

    instance, profile = parse_pabulib(str(DATA / name))
    ours = pabulib.read(DATA / name)
    assert len(profile) == ours.voters
    assert {p.name: Fraction(p.cost) for p in instance} == {
        pid: Fraction(p.cost, ours.scale) for pid, p in ours.projects.items()
    }
    assert Fraction(instance.budget_limit) == Fraction(ours.budget, ours.scale)
    for theirs, mine in zip(profile, ours.ballots, strict=True):
        if ours.kind is BallotKind.CUMULATIVE:
            assert {p.name: int(v) for p, v in theirs.items() if v} == mine
        elif ours.kind is BallotKind.ORDINAL:
            assert [p.name for p in theirs] == list(mine)
        else:
            assert {p.name for p in theirs} == set(mine)


def check_with_pabulib_checker(text: str) -> dict:
    checker = pytest.importorskip("pabulib.checker")
    with contextlib.redirect_stdout(io.StringIO()):  # it prints what it does
        results = checker.Checker().process_files([text])
    (found,) = (v for k, v in results.items() if k not in ("metadata", "summary"))
    outcome = found["results"]
    return {} if isinstance(outcome, str) else outcome


def test_pabulib_checker_accepts_what_we_write():
    text = pabulib.dumps(election())
    outcome = check_with_pabulib_checker(text)
    assert not outcome.get("errors"), outcome


@pytest.mark.parametrize(
    "name",
    [  # files whose rule the checker re-counts quickly (its equal shares takes minutes)
        "Netherlands_Amsterdam_643.pb",
        "Poland_Warszawa_2019_Grochow_Kinowa.pb",
        "Poland_Czestochowa_2020_Grabowka.pb",
        "France_Toulouse_2019.pb",
        "Switzerland_Zurich_S5R.pb",
    ],
    ids=lambda n: n[:40],
)
def test_pabulib_checker_finds_nothing_new_in_what_we_write(name):
    before = check_with_pabulib_checker((DATA / name).read_text(encoding="utf-8"))
    after = check_with_pabulib_checker(pabulib.dumps(pabulib.read(DATA / name)))
    assert set(after.get("errors", {})) <= set(before.get("errors", {})), after


def test_no_name_column_when_no_project_has_a_name():
    e = election(projects={"1": Project("1", 150), "2": Project("2", 200)}, ballots=[{"2": 1}])
    text = pabulib.dumps(e)
    assert "\nproject_id;cost;votes\n1;1.50;0\n2;2.00;1\nVOTES\n" in text
    assert pabulib.parse(text).projects == e.projects


# --- the fast reading of VOTES ----------------------------------------------------------------


def _read_three_ways(text: str, monkeypatch) -> list:
    """The election (or the error's line and message) read by the csv reader, by _fast_votes'
    loop and by its bulk path (the default)."""
    out = []
    for fast, bulk in ((False, False), (True, False), (True, True)):
        with monkeypatch.context() as m:
            m.setattr(pabulib._Reader, "fast", fast)
            if not bulk:
                m.setattr(pabulib._Reader, "_bulk_keys", staticmethod(lambda *args: None))
            try:
                out.append(pabulib.parse(text))
            except PabulibError as error:
                out.append((error.line, error.message))
    return out


QUIRKY_VOTES = [
    "1;P1,P2\n2;P2\n",  # plain
    "1;P1,P2\r\n2;P2\r\n",  # CRLF
    "1;P1,P2\n\n   \n2;P2",  # empty lines, no line end at the end
    "1;P1, P2 ,,P1\n2; P2\n3;\n4\n5;;\n;P1\n",  # spaces, empty items, repeats, short rows
    "1;P1,P2;x;y\n2;P2;;\n",  # more columns
    "1;P1\n2;P9\n",  # unknown project
    "1;P1\n2;P1,,P9\n",  # unknown project after an empty item
    "1;P1\nPROJECTS\n2;P2\n",  # a section twice
    "1;P1\nvotes\n",
    "1;P1\n2;P2\r3;P1\n",  # a lone CR ends a line for the csv reader
    '1;P1\n"2";"P1;x"\n',  # quotes: the csv reader
]


@pytest.mark.parametrize("votes", QUIRKY_VOTES)
def test_fast_votes_read_as_the_csv_reader(votes, monkeypatch):
    general, loop, bulk = _read_three_ways(pb(votes=votes), monkeypatch)
    assert loop == general
    assert bulk == general
    if isinstance(bulk, Election):
        assert all(a is not b for a, b in itertools.pairwise(bulk.ballots))


POINTS_META = "budget;1000\nvote_type;cumulative\n"
QUIRKY_POINTS = [
    ("voter_id;vote;points", "1;P1,P2;3,2\n2;P2;1\n2;P2;1\n"),
    ("voter_id;vote;points", "1;P1,P2;3,2\r\n2;P2,P1,P2;1,0,4\r\n\r\n3;;\n"),
    ("voter_id;points;vote", "1;3,2;P1,P2\n2;1;P2\n"),  # points before vote
    ("vote;points", "P1,P2;3,2\nP2;1\n\n;\n"),  # the vote in the first column
    ("voter_id;vote;points", "1;P1,P2;3\n"),  # counts differ
    ("voter_id;vote;points", "1;P1;3\n2;P2\n"),  # a row without points
    ("voter_id;vote;points", "1;P1;3\n2;P2;x\n"),
    ("voter_id;vote;points", "1;P1;3\n2;P2;-1\n"),
    ("voter_id;vote;points", "1;P1;3.0\n2;P2;1.5\n"),
]


@pytest.mark.parametrize(("header", "votes"), QUIRKY_POINTS)
def test_fast_votes_read_points_as_the_csv_reader(header, votes, monkeypatch):
    text = pb(votes=votes, meta=POINTS_META, vote_header=header)
    general, loop, bulk = _read_three_ways(text, monkeypatch)
    assert loop == general
    assert bulk == general


@pytest.mark.parametrize("path", [*REAL, DATA.parent / "small_approval.pb"], ids=lambda p: p.name)
def test_fast_votes_read_real_files_as_the_csv_reader(path, monkeypatch):
    text = path.read_text(encoding="utf-8")
    general, loop, bulk = _read_three_ways(text, monkeypatch)
    assert loop == general
    assert bulk == general
