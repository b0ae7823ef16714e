"""What the letters with voting codes cost (issue 21): reading the address list, making the
batch (its codes and the letters' addresses), and the print files — the PDF (one A4 per letter,
with its QR code) and the print shop's CSV — for 200 and 5,000 addresses (``--sizes`` for
others, e.g. 20000: the most one list may make).

    .venv/bin/python benchmarks/letters.py [--sizes 200,5000] [--keep /tmp/brieven.pdf]

On a throwaway SQLite file (the database plays a small part: one batch insert). Printed per
size: the seconds of each step, the PDF's size in all and per letter, and the letters per
second of the PDF. It asserts nothing; docs/letters.md quotes it."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._inprocess import one_resident_app  # noqa: E402


def address_list(size: int) -> bytes:
    """``size`` addresses over a few streets, every tenth with two voters."""
    lines = ["straat;huisnummer;postcode;plaats;aantal"]
    streets = [
        ("Kanaalstraat", "3531 AB"),
        ("Damstraat", "3531 AC"),
        ("Jan Pieterszstraat", "3531 AD"),
    ]
    for i in range(size):
        street, postcode = streets[i % len(streets)]
        voters = 2 if i % 10 == 0 else ""
        lines.append(f"{street};{i // len(streets) + 1};{postcode};Utrecht;{voters}")
    return "\n".join(lines).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,5000")
    parser.add_argument("--keep", default="", help="write the last PDF here")
    args = parser.parse_args()

    from wijkbudget.accounts.models import Role, RoleAssignment, User
    from wijkbudget.extensions import db
    from wijkbudget.proposals.models import Proposal, State
    from wijkbudget.rounds.models import Eligibility, Phase, Round
    from wijkbudget.voting import operations
    from wijkbudget.voting.letter_content import letter_text, print_shop_csv
    from wijkbudget.voting.letters import parse_letters
    from wijkbudget.voting.letters_pdf import letters_pdf
    from wijkbudget.voting.models import VotingPlace

    with tempfile.TemporaryDirectory() as folder:
        app, _place = one_resident_app(
            Path(folder), {"PUBLIC_URL": "https://wijkbudget.example.nl"}, "x" * 20
        )
        with app.test_request_context(base_url="https://wijkbudget.example.nl"):
            board = db.session.scalar(db.select(User))
            assert board is not None
            board.role_assignments = [RoleAssignment(role=Role.BOARD, neighbourhood_id=1)]
            now = datetime.now(UTC)
            rnd = Round(
                neighbourhood_id=1,
                title="Wijkbudget West 2026",
                budget_cents=5_000_000,
                max_cost_cents=2_000_000,
                phase=Phase.REVIEW,
                eligibility=Eligibility.ACCOUNTS_AND_CODES,
                voting_opens=now + timedelta(days=7),
                result_opens=now + timedelta(days=21),
            )
            db.session.add(rnd)
            db.session.flush()
            for i in range(14):
                db.session.add(
                    Proposal(
                        round_id=rnd.id,
                        neighbourhood_id=1,
                        submitter_id=board.id,
                        title=f"Voorstel nummer {i + 1} voor een groener plein",
                        summary="",
                        description="",
                        cost_cents=100_000 * (i + 1),
                        state=State.ADMITTED,
                    )
                )
            db.session.add(
                VotingPlace(
                    round_id=rnd.id,
                    name="Buurthuis De Pijp",
                    address="Tolstraat 10",
                    opens_at=now + timedelta(days=8),
                    closes_at=now + timedelta(days=8, hours=6),
                    note="rolstoeltoegankelijk",
                )
            )
            db.session.commit()
            wijk = rnd.neighbourhood
            print(f"{'letters':>8} {'parse s':>8} {'make s':>7} {'pdf s':>7} {'letters/s':>9} "
                  f"{'pdf MB':>7} {'kB/letter':>9} {'csv s':>6}")  # fmt: skip
            pdf = b""
            for size in [int(s) for s in args.sizes.split(",")]:
                data = address_list(size)
                started = time.perf_counter()
                parsed = parse_letters(data)
                parsed_at = time.perf_counter()
                assert not parsed.problems, parsed.problems[:3]
                batch = operations.make_letters(board, rnd, parsed.lines, label=f"{size}")
                made_at = time.perf_counter()
                letters = operations.show_letters(board, rnd, batch, file="pdf")
                text = letter_text(wijk, rnd)
                pdf = letters_pdf(letters, text)
                pdf_at = time.perf_counter()
                print_shop_csv(letters, text.vote_url)
                csv_at = time.perf_counter()
                pdf_seconds = pdf_at - made_at
                print(
                    f"{len(letters):>8} {parsed_at - started:>8.2f} {made_at - parsed_at:>7.2f} "
                    f"{pdf_seconds:>7.2f} {len(letters) / pdf_seconds:>9.0f} "
                    f"{len(pdf) / 1e6:>7.1f} {len(pdf) / len(letters) / 1e3:>9.2f} "
                    f"{csv_at - pdf_at:>6.2f}"
                )
            if args.keep:
                Path(args.keep).write_bytes(pdf)


if __name__ == "__main__":
    main()
