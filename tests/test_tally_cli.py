"""``flask tally FILE.pb --rule ... [--completion ...] [--json]`` and the same without the app,
``python -m wijkbudget.tally``: counting a pabulib file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wijkbudget.tally import command, pabulib, rules

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "pabulib"
ASSEN = DATA / "Netherlands_Assen_2024.pb"  # decided with equal shares (add1), whole euros
KINOWA = DATA / "Poland_Warszawa_2019_Grochow_Kinowa.pb"  # amounts in złoty and grosze
RANKINGS = DATA / "Switzerland_Zurich_S5R.pb"  # ordinal ballots

SMALL = DATA.parent / "small_approval.pb"
BROKEN = SMALL.read_text().replace("2;P2\n", "2;P17\n")  # line 12 names an unknown project


def tally(app, *args: str | Path):
    return app.test_cli_runner().invoke(args=["tally", *map(str, args)])


@pytest.mark.parametrize(
    ("rule", "completion"),
    [("equal-shares", "add1"), ("equal-shares", "greedy"), ("equal-shares", "none")],
)
def test_prints_the_funded_ids_in_selection_order(app, rule, completion):
    result = tally(app, ASSEN, "--rule", rule, "--completion", completion)
    assert result.exit_code == 0, result.output
    expected = rules.run(pabulib.read(ASSEN), rule, completion).funded
    assert expected and result.stdout.splitlines() == expected
    assert result.stderr == ""


def test_completion_defaults_to_add1_and_greedy_ignores_it(app):
    election = pabulib.read(ASSEN)
    result = tally(app, ASSEN, "--rule", "equal-shares")
    assert result.stdout.splitlines() == rules.run(election, "equal-shares", "add1").funded
    greedy = rules.run(election, "greedy").funded
    for extra in ([], ["--completion", "none"]):
        result = tally(app, ASSEN, "--rule", "greedy", *extra)
        assert result.exit_code == 0 and result.stdout.splitlines() == greedy


def test_the_command_line_asks_for_the_parallel_search(app, monkeypatch):
    """A count on the command line may take a while and runs alone: its add-one search may use
    a second CPU (rules.run(..., parallel=True)), unlike a page view's."""
    asked = []
    run = rules.run

    def spy(*args, **kwargs):
        asked.append(kwargs.get("parallel"))
        return run(*args, **kwargs)

    monkeypatch.setattr(rules, "run", spy)
    for rule in ("equal-shares", "greedy"):
        assert tally(app, ASSEN, "--rule", rule).exit_code == 0
    assert command.count(str(ASSEN), "equal-shares", out=io.StringIO()) == 0
    assert asked == [True, True, True]


def test_assen_as_the_city_counted_it(app):
    """Assen 2024 used equal shares with add1; its file marks what was funded."""
    result = tally(app, ASSEN, "--rule", "equal-shares")
    assert set(result.stdout.split()) == pabulib.read(ASSEN).selected


def test_json(app):
    result = tally(app, ASSEN, "--rule", "equal-shares", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # exactly one object
    outcome = rules.run(pabulib.read(ASSEN), "equal-shares", "add1")
    assert data == {
        "rule": "equal-shares",
        "completion": "add1",
        "funded": outcome.funded,
        "cost": outcome.cost,
        "budget": 100_000,
    }
    assert isinstance(data["cost"], int) and isinstance(data["budget"], int)

    data = json.loads(tally(app, ASSEN, "--rule", "greedy", "--json").stdout)
    assert data["rule"] == "greedy" and data["completion"] is None
    assert data["funded"] == rules.run(pabulib.read(ASSEN), "greedy").funded


def test_json_amounts_in_currency_units_for_files_with_decimals(app):
    election = pabulib.read(KINOWA)
    assert election.scale == 100
    result = tally(app, KINOWA, "--rule", "greedy", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    outcome = rules.run(election, "greedy")
    assert data["budget"] == 222176.85
    assert data["cost"] == pytest.approx(outcome.cost / 100, abs=1e-9)
    assert data["funded"] == outcome.funded


def test_ordinal_files_say_how_they_are_counted(app):
    result = tally(app, RANKINGS, "--rule", "equal-shares")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == rules.run(pabulib.read(RANKINGS)).funded
    assert pabulib.ORDINAL_NOTE in result.stderr


def test_a_malformed_file(app, tmp_path):
    path = tmp_path / "kapot.pb"
    path.write_text(BROKEN, encoding="utf-8")
    result = tally(app, path, "--rule", "equal-shares")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"{path}: regel 12: onbekend project 'P17'\n"
    assert "Traceback" not in result.output


def test_a_missing_file(app, tmp_path):
    result = tally(app, tmp_path / "er-niet.pb", "--rule", "greedy")
    assert result.exit_code == 2
    assert result.stderr.startswith("Bestand niet gevonden: ")
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""


def test_a_directory_is_not_a_file(app, tmp_path):
    result = tally(app, tmp_path, "--rule", "greedy")
    assert result.exit_code == 2 and result.stderr.startswith("Kan ")


@pytest.mark.parametrize(
    "args",
    [
        ["--rule", "equal-shares", "--completion", "add2"],
        ["--rule", "mes"],
        [],  # --rule is required
    ],
)
def test_bad_options_are_refused(app, args):
    result = tally(app, ASSEN, *args)
    assert result.exit_code == 2
    assert result.stdout == ""


def test_the_choices_are_the_rules():
    assert set(command.RULES) == set(rules.RULES)
    assert set(command.COMPLETIONS) == set(rules.COMPLETIONS)


def _standalone(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wijkbudget.tally", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize(
    ("path", "args"),
    [
        (ASSEN, ["--rule", "equal-shares"]),
        (ASSEN, ["--rule", "greedy", "--json"]),
        (KINOWA, ["--rule", "equal-shares", "--completion", "none", "--json"]),
        (KINOWA, ["--rule", "equal-shares", "--completion", "greedy"]),
    ],
)
def test_the_standalone_counter_says_what_flask_tally_says(app, path, args):
    """``python -m wijkbudget.tally``: the same output, notes and exit code as ``flask tally``."""
    done = _standalone(path, *args)
    result = tally(app, path, *args)
    assert done.returncode == result.exit_code == 0, done.stderr
    assert done.stdout == result.stdout and done.stdout
    assert done.stderr == result.stderr


@pytest.mark.parametrize(
    "args", [["--rule", "mes"], ["--rule", "equal-shares", "--completion", "add2"], []]
)
def test_the_standalone_counter_refuses_what_flask_tally_refuses(app, tmp_path, args):
    assert _standalone(ASSEN, *args).returncode == tally(app, ASSEN, *args).exit_code == 2
    missing = tmp_path / "nope.pb"
    done = _standalone(missing, "--rule", "greedy")
    assert done.returncode == 2 and "Bestand niet gevonden" in done.stderr
    broken = tmp_path / "broken.pb"
    broken.write_text(BROKEN)
    done = _standalone(broken, "--rule", "greedy")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == tally(app, broken, "--rule", "greedy").stderr


def test_the_standalone_counter_loads_no_flask_and_no_app():
    probe = (
        "import sys; from wijkbudget.tally.command import main; "
        f"code = main([{str(ASSEN)!r}, '--rule', 'equal-shares']); "
        "loaded = [m for m in sys.modules if m == 'flask' or m.startswith(('flask.', "
        "'sqlalchemy', 'wijkbudget.')) and not m.startswith('wijkbudget.tally')]; "
        "print('LOADED', loaded, code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert "LOADED [] 0" in done.stdout, done.stdout[-500:]


def test_the_real_command():
    """The whole process, as a person types it (``python -m flask`` is the ``flask`` script)."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "tally", str(ASSEN)]
    done = subprocess.run(
        [*command, "--rule", "equal-shares"],
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    expected = rules.run(pabulib.read(ASSEN), "equal-shares", "add1").funded
    assert done.stdout.splitlines() == expected
