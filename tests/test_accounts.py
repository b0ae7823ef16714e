"""Register, verify, sign in and out, reset, change and delete: as a resident goes through it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, link_in, mail_body
from wijkbudget.accounts.models import Role, User
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db


def register_data(**overrides: object) -> dict[str, object]:
    data = {
        "email": "fatima@example.org",
        "password": "lombok-is-de-mooiste-buurt",
        "display_name": "Fatima",
        "place": "",
        "postcode": "3531 AB",
        "birth_year": "1984",
        "language": "nl",
    }
    data.update(overrides)
    return data


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def test_register_verify_login_logout(client, west, inbox):
    lombok = west.areas[0]
    response = client.post(
        "/registreren", register_data(place=f"a{lombok.id}"), page="/registreren"
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/registreren/verstuurd")

    user = db.session.scalar(select(User).where(User.email == "fatima@example.org"))
    assert user is not None and not user.is_verified
    assert user.neighbourhood_id == west.id and user.area_id == lombok.id
    assert user.password_hash.startswith("$argon2")

    mail = inbox.last_to("fatima@example.org")
    assert "Bevestig je e-mailadres" in mail["Subject"]
    link = link_in(mail)
    assert "/bevestigen/" in link

    # not verified yet: signing in works, and the page asks to confirm the address
    client.login("fatima@example.org", "lombok-is-de-mooiste-buurt")
    assert "Bevestig je e-mailadres" in client.get("/").get_data(as_text=True)

    # opening the link writes nothing: the page asks to press the button
    response = client.get(path_of(link))
    assert response.status_code == 200 and "Ja, dit is mijn e-mailadres" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_verified
    response = client.post(path_of(link), {}, page=path_of(link))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).is_verified
    # pressing again (a second click, an old tab) changes nothing and is no error
    assert client.post(path_of(link), {}, page=path_of(link)).status_code == 303
    assert "Bevestig je e-mailadres" not in client.get("/account").get_data(as_text=True)

    client.logout()
    response = client.get("/account")
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]


def test_verification_link_is_refused_when_tampered_or_expired(
    client, app, west, make_user, monkeypatch
):
    user = make_user("jan@example.org", wijk=west, verified=False)
    from wijkbudget.accounts.operations import make_verify_token

    token = make_verify_token(user)
    # change a signature character that carries only data bits (the last one has 2 padding
    # bits: "xx" for the last two left the signature the same about once in a thousand runs)
    changed = "A" if token[-5] != "A" else "B"
    assert client.get(f"/bevestigen/{token[:-5]}{changed}{token[-4:]}").status_code == 400
    app.config["EMAIL_VERIFY_MAX_AGE"] = -1
    response = client.get(f"/bevestigen/{token}")
    assert response.status_code == 400
    assert "verlopen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_verified


def test_register_same_answer_for_known_address(client, west, make_user, inbox):
    existing = make_user("jan@example.org", wijk=west)
    place = f"a{west.areas[0].id}"
    known = client.post(
        "/registreren", register_data(email="jan@example.org", place=place), page="/registreren"
    )
    unknown = client.post(
        "/registreren", register_data(email="nieuw@example.org", place=place), page="/registreren"
    )
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    # the existing account is untouched; its owner is told by mail, not on the page
    db.session.expire_all()
    assert db.session.get(User, existing.id).display_name == existing.display_name
    assert db.session.scalars(select(User).where(User.email == "jan@example.org")).all() == [
        existing
    ]
    assert "al een account" in mail_body(inbox.last_to("jan@example.org"))


def test_reset_same_answer_for_known_and_unknown(client, west, make_user, inbox):
    make_user("jan@example.org", wijk=west)
    known = client.post(
        "/wachtwoord-vergeten", {"email": "jan@example.org"}, page="/wachtwoord-vergeten"
    )
    unknown = client.post(
        "/wachtwoord-vergeten", {"email": "niemand@example.org"}, page="/wachtwoord-vergeten"
    )
    assert known.status_code == unknown.status_code == 200

    def page_text(response, address):
        return response.get_data(as_text=True).replace(address, "ADDRESS")

    assert page_text(known, "jan@example.org") == page_text(unknown, "niemand@example.org")
    assert len(inbox.to("jan@example.org")) == 1
    # the unknown address gets one mail too (the same work): it has no account here
    assert len(inbox.to("niemand@example.org")) == 1
    assert "geen account" in mail_body(inbox.last_to("niemand@example.org"))
    assert "/wachtwoord-vergeten/" not in mail_body(inbox.last_to("niemand@example.org"))


def test_reset_link_works_once_and_dies_after_any_password_change(
    client, west, make_user, inbox, make_client
):
    make_user("jan@example.org", wijk=west)
    client.post("/wachtwoord-vergeten", {"email": "jan@example.org"}, page="/wachtwoord-vergeten")
    first = path_of(link_in(inbox.last_to("jan@example.org")))
    client.post("/wachtwoord-vergeten", {"email": "jan@example.org"}, page="/wachtwoord-vergeten")
    second = path_of(link_in(inbox.last_to("jan@example.org")))

    assert client.get(first).status_code == 200
    response = client.post(first, {"password": "nieuw-en-heel-geheim-1"}, page=first)
    assert response.status_code == 303
    # used: the same link is refused, and so is the other one sent before the change
    reused = client.get(first)
    assert reused.status_code == 400
    assert "al gebruikt" in reused.get_data(as_text=True)
    assert client.post(first, {"password": "nog-een-ander-wachtwoord"}, page="/").status_code == 400
    assert client.get(second).status_code == 400

    other = make_client()
    other.login("jan@example.org", "nieuw-en-heel-geheim-1")
    # a link asked for before a password change on the account page dies too
    other.post("/wachtwoord-vergeten", {"email": "jan@example.org"}, page="/wachtwoord-vergeten")
    third = path_of(link_in(inbox.last_to("jan@example.org")))
    response = other.post(
        "/account/wachtwoord",
        {"pw-current": "nieuw-en-heel-geheim-1", "pw-password": "derde-wachtwoord-van-jan"},
        page="/account",
    )
    assert response.status_code == 303
    assert client.get(third).status_code == 400


def test_password_change_ends_other_sessions(make_client, west, make_user):
    make_user("jan@example.org", wijk=west)
    laptop, phone = make_client(), make_client()
    laptop.login("jan@example.org")
    phone.login("jan@example.org")
    response = laptop.post(
        "/account/wachtwoord",
        {"pw-current": PASSWORD, "pw-password": "een-heel-nieuw-wachtwoord"},
        page="/account",
    )
    assert response.status_code == 303
    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302


def test_wrong_password_ten_times_gives_429(client, west, make_user):
    make_user("jan@example.org", wijk=west)
    token = client.csrf("/inloggen")
    for _ in range(10):
        response = client.post(
            "/inloggen", {"email": "jan@example.org", "password": "fout", "csrf_token": token}
        )
        assert response.status_code == 422
        assert "klopt niet" in response.get_data(as_text=True)
    response = client.post(
        "/inloggen", {"email": "jan@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "te vaak" in response.get_data(as_text=True)


def test_successful_logins_do_not_count_towards_the_limit(make_client, west, make_user):
    make_user("jan@example.org", wijk=west)
    for _ in range(12):
        browser = make_client()
        browser.login("jan@example.org")


def test_post_without_csrf_token_is_refused(client, west):
    response = client.raw.post("/inloggen", data={"email": "a@example.org", "password": "x"})
    assert response.status_code == 400
    assert "formulier" in response.get_data(as_text=True)
    response = client.raw.post("/registreren", data=register_data(place=f"w{west.id}"))
    assert response.status_code == 400
    assert db.session.scalar(select(User)) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"postcode": "3581 AB"}, "hoort niet bij wijk West"),
        ({"postcode": "35311"}, "geen Nederlandse postcode"),
        ({"display_name": "x" * 100_000}, "hoogstens 80 tekens"),  # (1 MB+: 413)
        ({"display_name": ""}, "Vul een naam in"),
        ({"email": ""}, "Vul je e-mailadres in"),
        ({"email": "geen-adres"}, "geen geldig e-mailadres"),
        ({"password": "kort"}, "minstens 10 tekens"),
        ({"password": "wachtwoord123"}, "heel vaak gebruikt"),
        ({"password": "password123"}, "heel vaak gebruikt"),
        ({"birth_year": "1850"}, "geboortejaar in zoals 1980"),
        ({"birth_year": "abc"}, "geboortejaar"),
        ({"display_name": "Jan\x00"}, "onleesbare tekens"),
        ({"place": ""}, "Kies je wijk en buurt"),
        ({"place": "a999999"}, "Kies je wijk en buurt"),
    ],
)
def test_bad_registration_input_is_explained(client, west, overrides, message):
    data = register_data(place=f"w{west.id}")
    data.update(overrides)
    response = client.post("/registreren", data, page="/registreren")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert "Er is iets niet goed ingevuld" in body
    assert len(body) < 200_000  # a huge value is not echoed back
    assert db.session.scalar(select(User)) is None


def test_postcode_in_another_wijk_names_that_wijk(client, west, oost):
    response = client.post(
        "/registreren", register_data(place=f"w{west.id}", postcode="3582 CD"), page="/registreren"
    )
    assert response.status_code == 422
    assert "Deze postcode hoort bij wijk Oost" in response.get_data(as_text=True)


def test_missing_fields_and_invalid_utf8_never_crash(client, west):
    token = client.csrf("/registreren")
    response = client.raw.post("/registreren", data={"csrf_token": token})
    assert response.status_code == 422
    body = (
        f"csrf_token={token}&email=a%40example.org&display_name=%FF%FE%FA&password=lang-genoeg-wachtwoord"
        f"&place=w{west.id}&postcode=3531AB&birth_year=1980&language=nl"
    ).encode()
    response = client.raw.post(
        "/registreren", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (303, 422)
    response = client.raw.post(
        "/inloggen",
        data=b"email=\xff\xfe&password=\xff",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


def test_profile_changes_name_language_and_buurt(client, west, make_user):
    user = make_user("jan@example.org", wijk=west)
    client.login("jan@example.org")
    oog_in_al = west.areas[1]
    response = client.post(
        "/account/gegevens",
        {
            "profile-display_name": "Jan B.",
            "profile-language": "en",
            "profile-area": str(oog_in_al.id),
        },
        page="/account",
    )
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.display_name, user.language, user.area_id) == ("Jan B.", "en", oog_in_al.id)
    assert "My account" in client.get("/account").get_data(as_text=True)


def test_profile_refuses_a_buurt_of_another_wijk(client, west, oost, make_user):
    user = make_user("jan@example.org", wijk=west)
    client.login("jan@example.org")
    response = client.post(
        "/account/gegevens",
        {
            "profile-display_name": "Jan",
            "profile-language": "nl",
            "profile-area": str(oost.areas[0].id),
        },
        page="/account",
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, user.id).area_id == west.areas[0].id


def profile_data(**overrides: object) -> dict[str, object]:
    data = {
        "profile-display_name": "Jan",
        "profile-language": "nl",
        "profile-area": "",
        "profile-work_postcode": "",
    }
    data.update(overrides)
    return data


def test_work_postcode_is_set_shown_and_cleared(client, west, oost, make_user):
    user = make_user("jan@example.org", wijk=west)
    client.login("jan@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "Postcode van je werk" in page and "Werk je in een wijk waar je niet woont?" in page
    assert "Wijk waar je werkt" not in page

    response = client.post(
        "/account/gegevens", profile_data(**{"profile-work_postcode": " 3582ab "}), page="/account"
    )
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.work_postcode, user.work_neighbourhood_id) == ("3582 AB", oost.id)
    page = client.get("/account").get_data(as_text=True)
    assert "Wijk waar je werkt" in page and "Oost</a> (3582 AB)" in page
    assert 'value="3582 AB"' in page  # the form shows it, so saving the name again keeps it

    # saving the other fields keeps it; emptying the field clears postcode and wijk
    assert (
        client.post(
            "/account/gegevens",
            profile_data(**{"profile-display_name": "Jan B.", "profile-work_postcode": "3582 AB"}),
            page="/account",
        ).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(User, user.id).work_neighbourhood_id == oost.id
    response = client.post("/account/gegevens", profile_data(), page="/account")
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.work_postcode, user.work_neighbourhood_id) == (None, None)
    assert "Wijk waar je werkt" not in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize(
    ("postcode", "message"),
    [
        ("9999 ZZ", "ligt niet in een wijk van wijkbudget"),
        ("12345", "Dit is geen Nederlandse postcode"),
        ("3582 SS", "Dit is geen Nederlandse postcode"),
        ("Kanaalstraat 10, Utrecht", "Dit is geen Nederlandse postcode"),
        ("3531 CD", "ligt in wijk West, waar je woont"),
    ],
)
def test_a_work_postcode_outside_any_other_wijk_is_refused(
    client, west, oost, make_user, postcode, message
):
    user = make_user("jan@example.org", wijk=west)
    user.work_postcode, user.work_neighbourhood = "3581 AA", oost
    db.session.commit()
    client.login("jan@example.org")
    response = client.post(
        "/account/gegevens",
        profile_data(**{"profile-display_name": "Nieuwe naam", "profile-work_postcode": postcode}),
        page="/account",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body
    assert 'aria-invalid="true"' in body and "Er is iets niet goed ingevuld" in body
    # nothing saved: not the postcode, not the name sent along with it
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.display_name, user.work_postcode, user.work_neighbourhood_id) == (
        "Bewoner 1",
        "3581 AA",
        oost.id,
    )


def test_work_postcode_form_needs_its_csrf_token(client, west, oost, make_user):
    user = make_user("jan@example.org", wijk=west)
    client.login("jan@example.org")
    response = client.raw.post(
        "/account/gegevens", data=profile_data(**{"profile-work_postcode": "3582 AB"})
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).work_neighbourhood_id is None


def test_delete_account_removes_personal_data_and_is_audited(client, west, oost, make_user):
    user = make_user(
        "jan@example.org", wijk=west, name="Jan", roles=((Role.BOARD, west),), work_wijk=oost
    )
    assert user.work_postcode is not None and user.work_neighbourhood_id == oost.id
    client.login("jan@example.org")
    wrong = client.post(
        "/account/verwijderen", {"del-password": "fout", "del-confirm": "y"}, page="/account"
    )
    assert wrong.status_code == 422
    response = client.post(
        "/account/verwijderen", {"del-password": PASSWORD, "del-confirm": "y"}, page="/account"
    )
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.email is None and user.display_name is None and user.password_hash is None
    assert user.postcode is None and user.birth_year is None and user.is_deleted
    assert user.work_postcode is None and user.work_neighbourhood_id is None
    assert user.role_assignments == []
    assert user.public_name == "oud-bewoner"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.delete"))
    assert event is not None and event.object_id == user.id and "board@west" in event.before
    # the session is gone and the address can be used again
    assert client.get("/account").status_code == 302
    assert (
        client.post(
            "/inloggen", {"email": "jan@example.org", "password": PASSWORD}, page="/inloggen"
        ).status_code
        == 422
    )


def test_next_parameter_only_leads_to_this_site(client, west, make_user):
    make_user("jan@example.org", wijk=west)
    response = client.post(
        "/inloggen?next=https://evil.example/",
        {"email": "jan@example.org", "password": PASSWORD},
        page="/inloggen",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


# --- issue 17: duplicates are answers, not errors -------------------------------------------------


@pytest.mark.parametrize(
    ("role", "scoped"),
    [("board", True), ("councillor", True), ("councillor", False), ("admin", False)],
)
def test_granting_a_role_twice_is_a_409(admin_client, west, make_user, role, scoped):
    from wijkbudget.accounts.models import RoleAssignment

    piet = make_user("piet@example.org", wijk=west)
    page = f"/beheer/accounts/{piet.id}"
    form = {"role": role, "wijk": west.slug if scoped else ""}
    assert admin_client.post(f"{page}/rollen", form, page=page).status_code == 303
    again = admin_client.post(f"{page}/rollen", form, page=page)
    assert again.status_code == 409 and "heeft deze rol al" in again.get_data(as_text=True)
    assignments = db.session.scalars(
        select(RoleAssignment).where(RoleAssignment.user_id == piet.id)
    ).all()
    assert len(assignments) == 1
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "role.grant")
    ).all()
    assert len(actions) == 1


def test_a_role_without_a_wijk_is_held_once_by_the_database_too(west, make_user):
    """The unique constraint on (user, role, wijk) lets NULL wijken differ; the partial unique
    index does not."""
    from sqlalchemy.exc import IntegrityError

    from wijkbudget.accounts.models import RoleAssignment

    piet = make_user("piet@example.org", wijk=west, roles=((Role.COUNCILLOR, None),))
    db.session.add(RoleAssignment(user_id=piet.id, role=Role.COUNCILLOR, neighbourhood_id=None))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # a councillor of one wijk and of all wijken are different roles
    db.session.add(RoleAssignment(user_id=piet.id, role=Role.COUNCILLOR, neighbourhood_id=west.id))
    db.session.commit()


def test_revoking_a_role_twice_says_so(admin_client, west, make_user):
    from wijkbudget.accounts.models import RoleAssignment

    piet = make_user("piet@example.org", wijk=west, roles=((Role.BOARD, west),))
    assignment = db.session.scalar(select(RoleAssignment).where(RoleAssignment.user_id == piet.id))
    page = f"/beheer/accounts/{piet.id}"
    url = f"/beheer/rollen/{assignment.id}/intrekken"
    token = admin_client.csrf(page)
    assert admin_client.post(url, {"csrf_token": token}).status_code == 303
    second = admin_client.post(url, {"csrf_token": token})
    assert second.status_code == 404  # the assignment no longer exists
    assert (
        len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "role.revoke")).all())
        == 1
    )


def test_registering_twice_with_one_address_makes_one_account(client, west, inbox):
    place = f"a{west.areas[0].id}"
    token = client.csrf("/registreren")
    data = {**register_data(place=place), "csrf_token": token}
    first = client.raw.post("/registreren", data=data)
    second = client.raw.post("/registreren", data=data)  # a double submit
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(db.session.scalars(select(User)).all()) == 1
    subjects = [m["Subject"] for m in inbox.to("fatima@example.org")]
    assert len(subjects) == 2 and "Bevestig je e-mailadres" in subjects[0]


def test_a_double_insert_of_one_address_is_answered_as_an_existing_one(west, app, monkeypatch):
    """Two registrations that both found no account: the unique address refuses the second,
    which is answered like any known address (None), not with an error."""
    from wijkbudget.accounts import operations

    kwargs = dict(
        email="fatima@example.org",
        password="lombok-is-de-mooiste-buurt",
        display_name="Fatima",
        neighbourhood=west,
        area=None,
        postcode="3531 AB",
        birth_year=1984,
        language="nl",
    )
    with app.test_request_context():
        assert operations.register(**kwargs) is not None
        # register() looks the address up in its own module
        monkeypatch.setattr(operations.account, "find_user_by_email", lambda email: None)
        assert operations.register(**kwargs) is None
    assert len(db.session.scalars(select(User)).all()) == 1


def test_a_reset_link_used_twice_at_once_sets_the_password_once(west, make_user, app):
    from wijkbudget.accounts import operations

    user = make_user("jan@example.org", wijk=west)
    token = operations.make_reset_token(user)
    with app.test_request_context():
        operations.reset_password(token, "eerste-nieuwe-wachtwoord")
        with pytest.raises(operations.AccountError, match="al gebruikt"):
            operations.reset_password(token, "tweede-nieuwe-wachtwoord")
