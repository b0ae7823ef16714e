"""The OpenAPI 3 document of the open data API. tests/test_api.py checks every response against
it with schemathesis, so it cannot drift from what the API returns."""

from __future__ import annotations

from typing import Any

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
INT = {"type": "integer"}
STRING = {"type": "string"}
BOOL = {"type": "boolean"}
TIME = {"type": ["string", "null"], "format": "date-time"}
HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": STRING}),
    "Wijk": _object(
        {
            "slug": STRING,
            "name": STRING,
            "description": STRING,
            "cbs_code": NULLABLE_STRING,
            "areas": {"type": "array", "items": STRING},
        }
    ),
    "Round": _object(
        {
            "id": INT,
            "wijk": STRING,
            "title": STRING,
            "introduction": STRING,
            "phase": {
                "enum": [
                    "submission",
                    "review",
                    "support",
                    "voting",
                    "result",
                    "execution",
                    "closed",
                ]  # fmt: skip
            },
            "budget_cents": INT,
            "min_cost_cents": INT,
            "max_cost_cents": INT,
            "ballot_type": STRING,
            "rule": STRING,
            "submission_opens": TIME,
            "voting_opens": TIME,
            "voting_ends": TIME,
        }
    ),
    "Proposal": _object(
        {
            "id": INT,
            "round": INT,
            "title": STRING,
            "summary": STRING,
            "state": STRING,
            "cost_cents": INT,
            "category": NULLABLE_STRING,
            "area": NULLABLE_STRING,
            "supports": INT,
            "submitted_at": TIME,
        }
    ),
    "Result": _object(
        {
            "round": INT,
            "rule": {"enum": ["greedy", "equal-shares"]},
            "completion": NULLABLE_STRING,
            "tie_break": STRING,
            "budget_cents": INT,
            "cost_cents": INT,
            "left_cents": INT,
            "voter_share_cents": NULLABLE_INT,
            "ballots_counted": INT,
            "ballots_sha256": HASH,
            "closed_at": TIME,
            "proposals": {
                "type": "array",
                "items": _object(
                    {
                        "id": INT,
                        "title": STRING,
                        "funded": BOOL,
                        "rank": INT,
                        "score": INT,
                        "supporters": INT,
                        "cost_cents": INT,
                        # the figures behind the explanation (None where they do not apply)
                        "supporters_money_cents": NULLABLE_INT,
                        "budget_left_cents": NULLABLE_INT,
                        "supporters_had_cents": NULLABLE_INT,
                        "price_cents": NULLABLE_INT,
                        "paid_in_full": NULLABLE_INT,
                        "paid_all_left": NULLABLE_INT,
                        "paid_all_left_cents": NULLABLE_INT,
                        "had_nothing_left": NULLABLE_INT,
                        "explanation": STRING,
                    }
                ),
            },
        }
    ),
    "Project": _object(
        {
            "id": INT,
            "proposal": INT,
            "round": INT,
            "title": STRING,
            "status": {"enum": ["not_started", "in_progress", "done", "stopped"]},
            "percent_done": INT,
            "granted_cents": INT,
            "spent_cents": INT,
            "returned_cents": INT,
            "remaining_cents": INT,
        }
    ),
    "Expense": _object(
        {
            "id": INT,
            "project": INT,
            "spent_on": {"type": "string", "format": "date"},
            "amount_cents": INT,
            "payee": STRING,
            "payee_type": {"enum": ["company", "association", "private"]},
            "description": STRING,
            "state": {"enum": ["pending", "approved", "rejected", "reversed"]},
            "has_receipt": BOOL,
        }
    ),
    "LedgerEntry": _object(
        {
            "seq": INT,
            "kind": {
                "enum": [
                    *("grant", "expense", "correction", "reallocation", "return"),
                    *("income", "draw", "round_return"),  # the wijk's pot (issue 22)
                ]
            },
            "amount_cents": INT,
            "round": NULLABLE_INT,
            "project": NULLABLE_INT,
            "expense": NULLABLE_INT,
            "corrects": NULLABLE_INT,
            "reason": STRING,
            "created_at": TIME,
            "prev_hash": HASH,
            "hash": HASH,
            "canonical": STRING,
        }
    ),
}

SCHEMAS["Checkpoint"] = _object(
    {
        "wijk_id": INT,
        "wijk": STRING,
        "length": INT,
        "head": HASH,
        "signed_at": {"type": "string", "format": "date-time"},
        "key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
        "signature": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
        "signed_text": STRING,
    }
)
SCHEMAS["Checkpoints"] = _object(
    {
        "type": {"const": "wijkbudget-ledger-checkpoints/1"},
        "public_key": HASH,
        "key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
        "algorithm": {"const": "Ed25519"},
        "checkpoints": {"type": "array", "items": {"$ref": "#/components/schemas/Checkpoint"}},
    }
)

PAGE_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
    },
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
]
SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {400: "Bad parameters", 404: "Not found", 429: "Too many requests"}
    return {str(code): _json(_ref("Error"), texts[code]) for code in codes}


def _paged(item: str, summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    schema = _object(
        {
            "items": {"type": "array", "items": _ref(item)},
            "page": INT,
            "per_page": INT,
            "total": INT,
            "pages": INT,
        }
    )
    return {
        "get": {
            "summary": summary,
            "parameters": parameters + PAGE_PARAMETERS,
            "responses": {"200": _json(schema, "One page"), **_errors(400, 404, 429)},
        }
    }


def _single(item: str, summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": _json(_ref(item), summary), **_errors(404, 429)},
        }
    }


def document() -> dict[str, Any]:
    phase = {
        "name": "phase",
        "in": "query",
        "schema": {
            "enum": ["submission", "review", "support", "voting", "result", "execution", "closed"]
        },  # fmt: skip
    }
    state = {
        "name": "state",
        "in": "query",
        "schema": {
            "enum": [
                "submitted",
                "changes_requested",
                "admitted",
                "rejected",
                "insufficient_support",
                "chosen",
                "not_chosen",
            ]
        },  # fmt: skip
    }
    area = {
        "name": "area",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wijkbudget open data",
            "version": "1",
            "description": (
                "Read-only: what the public pages show. Amounts in euro cents, times in UTC. "
                "Vote counts appear only in a round's result, after the board closed the vote; "
                "payments to private persons show the payee as 'particulier'."
            ),
        },
        "paths": {
            "/api/v1/wijken": _paged("Wijk", "Wijken", []),
            "/api/v1/wijken/{slug}": _single("Wijk", "One wijk", [SLUG]),
            "/api/v1/wijken/{slug}/rondes": _paged("Round", "A wijk's rounds", [SLUG, phase]),
            "/api/v1/rondes/{round_id}": _single("Round", "One round", [_id("round_id")]),
            "/api/v1/rondes/{round_id}/voorstellen": _paged(
                "Proposal", "A round's proposals", [_id("round_id"), state, area]
            ),
            "/api/v1/rondes/{round_id}/uitslag": _single(
                "Result", "A round's result", [_id("round_id")]
            ),
            "/api/v1/wijken/{slug}/projecten": _paged("Project", "Funded projects", [SLUG]),
            "/api/v1/projecten/{project_id}/uitgaven": _paged(
                "Expense", "A project's expenses", [_id("project_id")]
            ),
            "/api/v1/wijken/{slug}/grootboek": _paged(
                "LedgerEntry", "A wijk's ledger, oldest first, with hashes", [SLUG]
            ),
            "/api/v1/wijken/{slug}/controlepunten": _paged(
                "Checkpoint", "A wijk's signed ledger checkpoints, oldest first", [SLUG]
            ),
            "/api/v1/controlepunten": {
                "get": {
                    "summary": "Every signed ledger checkpoint and the public key (Ed25519) "
                    "that verifies them: the file councillors keep",
                    "parameters": [],
                    "responses": {
                        "200": _json(_ref("Checkpoints"), "All checkpoints"),
                        **_errors(429),
                    },
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
