"""The grants file is valid 360Giving: checked against the standard's own JSON schema (draft
2020-12, tests/data/360giving/, no network), with the configured "360G-" prefix on every
identifier and a funding and a recipient organisation on every grant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from wijkbudget import create_app
from wijkbudget.accounts.models import Role
from wijkbudget.config import ConfigError
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import operations
from wijkbudget.spending.models import FundedProject

SCHEMAS = Path(__file__).parent / "data" / "360giving"


def validator() -> jsonschema.protocols.Validator:
    package = json.loads((SCHEMAS / "360-giving-package-schema.json").read_text())
    grant = json.loads((SCHEMAS / "360-giving-schema.json").read_text())
    # the files name their dialect "http://json-schema.org/draft/2020-12/schema" (http, not
    # https), which the libraries do not know by that name: it is draft 2020-12
    resource = Resource(contents=grant, specification=DRAFT202012)
    # the package refers to the grant schema by its 1.4.2 address; the copy is 1.4.3
    registry: Registry[Any] = Registry().with_resources(
        [(package["properties"]["grants"]["items"]["$ref"], resource), (grant["$id"], resource)]
    )
    cls = jsonschema.Draft202012Validator
    cls.check_schema(package)
    return cls(package, registry=registry, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture
def funded(make_wijk, make_user, make_round, make_proposal):
    wijk = make_wijk("Noord")
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    resident = make_user("jan.jansen@example.org", wijk=wijk, name="Jan Jansen")
    rnd = make_round(wijk, Phase.RESULT, budget=1_000_000)
    benches = make_proposal(rnd, resident, State.CHOSEN, title="Bankjes", cost=300_000)
    garden = make_proposal(rnd, resident, State.CHOSEN, title="Moestuin", cost=200_000)
    operations.grant_chosen(board, rnd, [benches, garden], utcnow())
    db.session.commit()
    return wijk, rnd


def test_the_grants_file_is_valid_360giving(funded, make_client, app):
    wijk, rnd = funded
    response = make_client().get(f"/wijk/{wijk.slug}/geld/subsidies.json")
    assert response.status_code == 200
    document = json.loads(response.data)
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]

    prefix = app.config["GRANTS_360_PREFIX"]
    assert prefix.startswith("360G-")
    projects = list(db.session.scalars(select(FundedProject).order_by(FundedProject.id)))
    grants = document["grants"]
    assert [g["id"] for g in grants] == [f"{prefix}-{wijk.slug}-{p.id}" for p in projects]
    for grant, project in zip(grants, projects, strict=True):
        assert grant["amountAwarded"] == project.granted_cents / 100
        assert grant["recipientOrganization"][0]["id"].startswith("360G-")
        assert grant["fundingOrganization"][0]["id"] == f"{prefix}-{wijk.slug}"
        assert grant["grantProgramme"][0]["title"] == rnd.title
    assert "Jan Jansen" not in response.get_data(as_text=True)


def test_the_schema_check_would_catch_a_grant_without_a_funder(funded, make_client):
    wijk, _rnd = funded
    document = json.loads(make_client().get(f"/wijk/{wijk.slug}/geld/subsidies.json").data)
    del document["grants"][0]["fundingOrganization"]
    assert list(validator().iter_errors(document))


def test_the_prefix_is_configurable_and_must_be_360g(app_config):
    app = create_app({**app_config, "GRANTS_360_PREFIX": "360G-utrecht-wijken"})
    assert app.config["GRANTS_360_PREFIX"] == "360G-utrecht-wijken"
    with pytest.raises(ConfigError, match="GRANTS_360_PREFIX"):
        create_app({**app_config, "GRANTS_360_PREFIX": "wijkbudget"})
