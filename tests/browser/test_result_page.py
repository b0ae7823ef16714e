"""Issue 22 in the browser: the result page's chart is a table a screen reader can name and
read, with the money line in words; the jargon opens from the "Voor controleurs" fold with the
keyboard, with JavaScript and without; axe-core finds nothing serious (WCAG 2.1 AA)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_accessibility import blocking_violations
from tests.test_result_explained import counted  # noqa: F401 (the fixture: a counted round)


def test_the_chart_reads_as_a_table_and_the_fold_opens_with_the_keyboard(
    counted,  # noqa: F811
    new_page,
    javascript,
    shoot,
):
    rnd, p = counted
    page = new_page()
    page.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/uitslag")
    main = page.locator("main")
    expect(main.locator(".lead")).to_have_text("2 voorstellen krijgen geld: Bankjes en Moestuin.")

    chart = page.get_by_role("table", name="Stemmen per voorstel")
    expect(chart).to_be_visible()
    heads = chart.get_by_role("rowheader")
    expect(heads).to_have_text(["Bankjes", "Moestuin", "Speeltuin"])
    expect(chart.get_by_role("row", name="Bankjes")).to_contain_text("3")
    money_line = chart.locator("tr.money-line")
    expect(money_line).to_be_visible()
    expect(money_line).to_contain_text("Tot hier is er geld")
    # what the chart says in words is also what the list below says
    bankjes = page.locator(f"#voorstel-{p['bankjes'].id}")
    expect(bankjes).to_contain_text("3 voorstanders betaalden ieder")

    # the jargon waits behind the fold; the keyboard opens it (a <details>: no script needed)
    ballots = page.get_by_role("link", name="Stembiljetten (.pb, pabulib)")
    expect(ballots).to_be_hidden()
    page.locator("details.for-checkers summary").focus()
    page.keyboard.press("Enter")
    expect(ballots).to_be_visible()
    expect(main).to_contain_text("SHA-256")
    shoot(page, "uitslag-uitgelegd")

    if javascript:  # (axe-core runs in the page)
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            assert not blocking_violations(page), blocking_violations(page)
