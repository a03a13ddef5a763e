"""The dashboard in headless Chromium against a real server on the demo store (issue 8).

One store, one server (a thread on a free port) and one browser for the module. Each page is
opened, a number on it is compared with the same number counted from the store here, and a
screenshot is saved to tests/artifacts/screenshots/<page>.png for a person to look at.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from pathlib import Path

import polars as pl
import pytest
import requests
from sqlalchemy import select

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PASSWORD = "correct-horse-battery-staple"
XSS = "<script>alert(1)</script> rash"
PAGES = {"overview": "/", "adverse_events": "/adverse-events", "patients": "/patients", "labs": "/labs",
         "dlt_boundaries": "/dlt", "susars": "/susars", "signals": "/signals", "activity": "/activity",
         "alerts": "/alerts", "data": "/data"}
SERVED: dict = {}  # the served study's config, for the CLI comparisons


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed at /usr/bin/chromium")
    from werkzeug.serving import make_server

    from dashboards.app import create_app
    from dashboards.sample_store import build_demo_store
    from safety.users import create_user

    previous = os.environ.get("VIGIL_SECRET_KEY")
    os.environ["VIGIL_SECRET_KEY"] = "test-secret-" + "x" * 40
    cfg, store = build_demo_store(tmp_path_factory.mktemp("dashboard"))
    SERVED["cfg"] = cfg
    create_user(store, "carol", "committee", PASSWORD)
    create_user(store, "ivan", "investigator", PASSWORD)
    app = create_app(cfg, store)
    port = _free_port()
    http = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", store
    http.shutdown()
    thread.join(5)
    store.dispose()
    if previous is None:
        os.environ.pop("VIGIL_SECRET_KEY", None)
    else:
        os.environ["VIGIL_SECRET_KEY"] = previous


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(served, browser):
    base, _ = served
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(base + "/")
    assert "/login" in pg.url
    pg.fill("#username", "carol")
    pg.fill("#password", PASSWORD)
    pg.click("#login-button")
    pg.wait_for_selector("#page-content .page")
    yield pg
    context.close()


def _open(page, base: str, name: str, wait_for: str):
    page.goto(base + PAGES[name])
    page.wait_for_selector(wait_for, timeout=20_000)
    page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _card_value(page, card_id: str) -> str:
    return page.locator(f"#{card_id} .card-value").inner_text().strip()


def test_anonymous_requests_are_refused(served):
    base, _ = served
    for path in PAGES.values():
        r = requests.get(base + path, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert requests.get(base + path, allow_redirects=False, timeout=10).status_code == 401
    callback = {"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"},
                "inputs": [{"id": "url", "property": "pathname", "value": "/alerts"}], "changedPropIds": []}
    r = requests.post(base + "/_dash-update-component", json=callback, timeout=10)
    assert r.status_code in (401, 403)
    assert "acknowledged" not in r.text


def test_wrong_password_and_investigator_role(served, browser):
    base, _ = served
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(base + "/login")
    pg.fill("#username", "carol")
    pg.fill("#password", "wrong password!!")
    pg.click("#login-button")
    assert pg.locator(".login-error").is_visible()
    pg.fill("#username", "ivan")
    pg.fill("#password", PASSWORD)
    pg.click("#login-button")
    pg.goto(base + "/dlt")
    pg.wait_for_selector("#dlt-grid")
    assert pg.locator("#dlt-confirm").count() == 0  # the investigator cannot confirm DLTs
    context.close()


def test_overview(served, page):
    base, store = served
    _open(page, base, "overview", "#new-alerts")
    status = store.derived("boundary_status")
    for row in status.iter_rows(named=True):
        assert _card_value(page, f"boundary-{row['design_id']}") == f"{row['events']} / {row['n']}"
    dlt = store.derived("dlt_status")
    evaluable = dlt.filter(pl.col("DLTSTAT") == "EVALUABLE, NO DLT").height
    assert _card_value(page, "dlt-evaluable-no-dlt") == str(evaluable)


def test_adverse_events_counts_and_script_term_is_text(served, page):
    base, store = served
    _open(page, base, "adverse_events", "#ae-grid .ag-row")
    ae = store.derived("ae_events")
    assert _card_value(page, "ae-g3-count") == str(ae.filter(pl.col("AETOXGR") >= 3).height)
    page.fill("#ae-grid .ag-header-cell[col-id='AETERM'] input, #ae-grid input[aria-label*='AETERM']", "script") \
        if page.locator("#ae-grid input[aria-label*='AETERM']").count() else None
    page.locator("#ae-filters input").nth(2).check()  # grade >= 3
    page.wait_for_function("document.querySelector('#ae-filter-count').innerText.includes('records')")
    assert page.locator("#ae-filter-count").inner_text() == f"{ae.filter(pl.col('AETOXGR') >= 3).height} records"
    # the first AE (grade 4) carries the script tag as its verbatim term: shown as characters, never run
    cell = page.locator("#ae-grid .ag-cell[col-id='AETERM']", has_text="<script>")
    assert cell.count() >= 1 and cell.first.inner_text() == XSS
    assert page.locator("#ae-grid script").count() == 0
    assert page.dialogs == []


def test_patients(served, page):
    base, store = served
    _open(page, base, "patients", "#swimmer .main-svg")
    first = sorted(store.current("DM")["USUBJID"].to_list())[0]
    assert first in page.locator("#patient-select").inner_text()
    n_ae = store.derived("ae_events").filter(pl.col("USUBJID") == first).height
    assert page.locator("#patient-ae-grid .ag-center-cols-container .ag-row").count() == n_ae


def test_labs(served, page):
    base, store = served
    _open(page, base, "labs", "#edish .main-svg")
    n_cases = store.derived("hyslaw_cases").height
    assert page.locator("#hyslaw-count").inner_text() == f"Potential Hy's law cases: {n_cases}"
    page.wait_for_selector("#shift-grid .ag-row")


def test_susars_download_listing(served, page):
    base, store = served
    _open(page, base, "susars", "#susar-grid .ag-row")
    cases = store.derived("susar_cases")
    assert _card_value(page, "susar-total") == str(cases.height)
    with page.expect_download() as info:
        page.click("#susar-download-csv")
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert download.suggested_filename.endswith(".csv")
    assert text.count("\n") >= cases.height + 1
    assert cases["USUBJID"][0] in text


def test_activity(served, page):
    import json

    from typer.testing import CliRunner

    from safety.cli import app

    base, store = served
    _open(page, base, "activity", "#km .main-svg")
    cli = CliRunner().invoke(app, ["pfs", "--config", str(SERVED["cfg"].path), "--format", "json"])
    assert cli.exit_code == 0, cli.output
    rate = json.loads(cli.stdout)["six_month_rate"]["rate"]
    assert _card_value(page, "pfs6-rate") == f"{rate:.0%}"


def test_signals(served, page):
    base, store = served
    _open(page, base, "signals", "#signals-grid .ag-row")
    flagged = store.derived("signals_oe").filter("signal").height
    assert flagged > 0  # the demo's planted signal
    assert _card_value(page, "signals-total") == str(flagged)


def test_data(served, page):
    base, store = served
    _open(page, base, "data", "#ingest-grid .ag-row")
    assert page.locator("#ingest-grid .ag-center-cols-container .ag-row").count() == store.runs(50).height


def test_acknowledge_alert(served, page):
    from safety.store import schema

    base, store = served
    _open(page, base, "alerts", "#alerts-grid .ag-row")
    with store.read() as conn:
        acknowledged = conn.execute(select(schema.alert.c.acknowledged_at)).scalars().all()
    # the grid draws only the rows in view; the subtitle states the counts
    n_open = sum(a is None for a in acknowledged)
    assert page.locator(".page-subtitle").inner_text().startswith(f"{n_open} open of {len(acknowledged)}")
    page.locator("#alerts-grid .ag-center-cols-container .ag-row").first.locator(".ag-cell").first.click()
    page.fill("#ack-comment", "Reviewed with the site; no action.")
    page.click("#ack-button")
    page.wait_for_function("document.querySelector('#ack-message').innerText.includes('acknowledged')")
    alert_id = int(re.search(r"Alert (\d+)", page.locator("#ack-message").inner_text()).group(1))
    with store.read() as conn:
        row = conn.execute(select(schema.alert).where(schema.alert.c.id == alert_id)).mappings().one()
        audit = conn.execute(select(schema.audit_log).where(schema.audit_log.c.action == "alert.acknowledge")
                             ).mappings().all()
    assert row["acknowledged_by"] == "carol" and row["ack_comment"] == "Reviewed with the site; no action."
    assert [a["target"] for a in audit] == [f"alert:{alert_id}"]


def test_confirm_dlt_candidate(served, page):
    from safety.store import schema

    base, store = served
    _open(page, base, "dlt_boundaries", "#dlt-grid .ag-row")
    decision = store.derived("runin_decision")["decision"][0]
    assert _card_value(page, "runin-decision") == str(decision)
    candidate = store.derived("dlt_candidates")["CANDIDATE_ID"][0]
    page.locator("#dlt-grid .ag-center-cols-container .ag-row").first.locator(".ag-cell").first.click()
    page.fill("#dlt-comment", "Grade 4 neutropenia over 7 days: a DLT.")
    page.click("#dlt-confirm")
    page.wait_for_function("document.querySelector('#dlt-message').innerText.startsWith('Confirmed')")
    with store.read() as conn:
        rows = conn.execute(select(schema.dlt_confirmation)).mappings().all()
        audit = conn.execute(select(schema.audit_log).where(schema.audit_log.c.action == "dlt.confirmed")
                             ).mappings().all()
    assert [(r["candidate_id"], r["decision"], r["decided_by"]) for r in rows] == [(candidate, "CONFIRMED", "carol")]
    assert audit[0]["target"] == candidate
    assert page.locator("#dlt-grid .ag-cell[col-id='DECISION']").first.inner_text() == "CONFIRMED"


def test_data_cut_selector(served, page):
    base, _ = served
    page.goto(base + "/adverse-events")
    page.wait_for_selector("#ae-grid .ag-row")
    page.click("#data-cut")
    page.get_by_text("DMC meeting 1", exact=False).first.click()
    page.wait_for_function("document.querySelector('.page-subtitle').innerText.includes('data cut')")
    assert "DMC meeting 1" in page.locator(".page-subtitle").inner_text()
    assert page.dialogs == []


def test_callback_without_csrf_header_is_refused_even_when_logged_in(served, page):
    base, _ = served
    # the browser context's cookies (a valid session) but no X-CSRFToken header: another site's form post
    response = page.request.post(base + "/_dash-update-component", data={"output": "x", "inputs": []},
                                 headers={"Content-Type": "application/json"})
    assert response.status == 403


def test_grid_csv_export_is_formula_safe(served, page):
    base, _ = served
    _open(page, base, "adverse_events", "#ae-grid .ag-row")
    # a verbatim term a site typed as a formula, added to the grid the export reads
    page.evaluate("""() => dash_ag_grid.getApi('ae-grid').applyTransaction(
        {add: [{USUBJID: '=1+1', AETERM: '@SUM(A1)', AEDECOD: '\\tx', AESEQ: -3},
               {USUBJID: ' =2+2', AETERM: 'SPACED'}], addIndex: 0})""")
    with page.expect_download() as info:
        page.click("#ae-export")
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith('"USUBJID","AESEQ","AETERM"')  # headers unchanged
    row = next(line for line in text.splitlines() if "SUM(A1)" in line)
    assert row.startswith('"\'=1+1","-3","\'@SUM(A1)","\'\tx"'), row
    spaced = next(line for line in text.splitlines() if "SPACED" in line)  # after a space, as writers.inert_text
    assert spaced.startswith('"\' =2+2"'), spaced
