"""The report pages in the back office: who may read them, the figures as the page shows them,
every table's CSV matching its page cell for cell, SVG charts without script, and the `flask
reports daily` command."""

import csv
import io
import pytest
from lxml import html as lxml_html

from support.history import (
    EXPECTED_DAILY,
    EXPECTED_DAILY_FOOT,
    EXPECTED_METHODS,
    EXPECTED_METHODS_FOOT,
)
from support.staff import log_in_as
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, OrderStatus
from wapshop.cli.reports import reports_cli

RANGE = "start=2025-03-01&end=2025-03-04"
PAGES = ["/admin/reports/", "/admin/reports/daily", "/admin/reports/payments",
         "/admin/reports/funnel"]  # fmt: skip


def page_tables(text: str) -> dict[str, list[list[str]]]:
    """Each report table of a page by name: header, rows and total rows, as cell texts."""
    doc = lxml_html.fromstring(text)
    tables = {}
    for table in doc.xpath("//table[@data-table]"):
        rows = [
            [cell.text_content().strip() for cell in tr.xpath("./th|./td")]
            for tr in table.xpath(".//tr[not(contains(@class, 'empty'))]")
        ]
        tables[table.get("data-table")] = rows
    return tables


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # a BOM, so Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_admins_and_operators_read_every_report(app, client, history, role):
    log_in_as(app, client, role)
    for page in PAGES:
        response = client.get(f"{page}?{RANGE}")
        assert response.status_code == 200, page
        assert "北京时间" in response.text


@pytest.mark.parametrize("role", ["service", "seller"])
def test_customer_service_and_sellers_may_not_read_reports(app, client, history, role):
    log_in_as(app, client, role)
    for page in PAGES:
        assert client.get(f"{page}?{RANGE}").status_code == 403, page
    assert client.get(f"/admin/reports/daily/daily.csv?{RANGE}").status_code == 403


def test_reports_send_anyone_not_logged_in_to_the_login_page(client):
    response = client.get(f"/admin/reports/daily?{RANGE}")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/login")
    assert client.get(f"/admin/reports/daily/daily.csv?{RANGE}").status_code == 303


def test_the_daily_page_shows_the_hand_computed_figures(app, client, history):
    log_in_as(app, client, "operator")
    page = client.get(f"/admin/reports/daily?{RANGE}")
    table = page_tables(page.text)["daily"]
    assert table[1:] == EXPECTED_DAILY + EXPECTED_DAILY_FOOT
    payments = page_tables(client.get(f"/admin/reports/payments?{RANGE}").text)["methods"]
    assert payments[1:] == EXPECTED_METHODS + EXPECTED_METHODS_FOOT


def test_every_table_exports_as_csv_matching_its_page(app, client, history):
    log_in_as(app, client, "admin")
    seen = 0
    for page in [*PAGES, "/admin/reports/payments?method=card&"]:
        url = f"{page}{'&' if '?' in page else '?'}{RANGE}".replace("&&", "&")
        response = client.get(url)
        assert response.status_code == 200
        tables = page_tables(response.text)
        assert tables
        doc = lxml_html.fromstring(response.text)
        for name, rows in tables.items():
            link = doc.xpath(f"//h2[@id='{name}']//a")[0].get("href")
            exported = client.get(link)
            assert exported.status_code == 200
            assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert "attachment" in exported.headers["Content-Disposition"]
            assert csv_rows(exported.data) == rows, (page, name)
            seen += 1
    assert seen == 12  # the daily page shows the shipping inside its amounts too
    gbk = client.get(f"/admin/reports/daily/daily.csv?{RANGE}&encoding=gbk")
    assert list(csv.reader(io.StringIO(gbk.data.decode("gb18030"))))[1:] == (
        EXPECTED_DAILY + EXPECTED_DAILY_FOOT
    )


def test_a_page_reads_events_written_since_the_last_one(app, client, history):
    log_in_as(app, client, "operator")
    before = page_tables(client.get(f"/admin/reports/daily?{RANGE}").text)["daily"]
    assert before[2][3] == "2"  # 03-02: two orders with a valid address
    with app.app_context():
        order = db.session.get(Order, history["orders"]["I"])
        order.events.append(OrderEvent(actor="seller:1", from_status=OrderStatus.PLACED,
                                       to_status=OrderStatus.ADDRESS_OK))  # fmt: skip
        db.session.commit()
    after = page_tables(client.get(f"/admin/reports/daily?{RANGE}").text)["daily"]
    assert after[2][3:5] == ["3", "75.00%"]


def test_charts_are_server_rendered_svg_without_script(app, client, history):
    log_in_as(app, client, "operator")
    for page in PAGES:
        text = client.get(f"{page}?{RANGE}").text
        assert "<svg" in text, page
        assert "<script" not in text.lower(), page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2025-02-30", "日期格式不对"),
        ("start=2025-03-05&end=2025-03-01", "开始日期不能晚于结束日期"),
        ("start=2020-01-01&end=2025-03-01", "一次最多看 366 天"),
    ],
)
def test_bad_ranges_get_a_400_with_a_message(app, client, query, message):
    log_in_as(app, client, "operator")
    response = client.get(f"/admin/reports/daily?{query}")
    assert response.status_code == 400
    assert message in response.text
    assert client.get(f"/admin/reports/daily/daily.csv?{query}").status_code == 400


def test_unknown_tables_methods_and_encodings_are_refused(app, client):
    log_in_as(app, client, "operator")
    assert client.get("/admin/reports/nope/daily.csv").status_code == 404
    assert client.get("/admin/reports/daily/nope.csv").status_code == 404
    assert client.get("/admin/reports/payments?method=bitcoin").status_code == 400
    assert client.get("/admin/reports/daily/daily.csv?encoding=latin1").status_code == 400


def test_the_report_pages_handle_an_empty_shop(app, client):
    log_in_as(app, client, "operator")
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert "—" in response.text


def test_the_daily_command_prints_the_report_for_scripts(app, history):
    runner = app.test_cli_runner()
    result = runner.invoke(reports_cli, ["daily", "--from", "2025-03-01", "--to", "2025-03-04",
                                         "--csv"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[1:] == EXPECTED_DAILY + EXPECTED_DAILY_FOOT
    text = runner.invoke(reports_cli, ["daily", "--from", "2025-03-01", "--to", "2025-03-04"])
    assert text.exit_code == 0
    lines = text.output.splitlines()
    assert lines[0] == "订单日报 2025-03-01 至 2025-03-04（北京时间，金额单位：元）"
    assert lines[-2].split() == EXPECTED_DAILY_FOOT[0]
    assert lines[-1].split() == EXPECTED_DAILY_FOOT[1]
    one_day = runner.invoke(reports_cli, ["daily", "--from", "2025-03-03", "--csv"])
    assert list(csv.reader(io.StringIO(one_day.output)))[1] == EXPECTED_DAILY[2]
    bad = runner.invoke(reports_cli, ["daily", "--from", "2025-03-05", "--to", "2025-03-01"])
    assert bad.exit_code == 2 and "开始日期不能晚于结束日期" in bad.output


def test_refresh_and_rebuild_commands(app, history):
    runner = app.test_cli_runner()
    assert runner.invoke(reports_cli, ["refresh"]).output == "Orders re-counted: 11\n"
    assert runner.invoke(reports_cli, ["refresh"]).output == "Orders re-counted: 0\n"
    with app.app_context():
        # A correction behind the event log's back (no event): a refresh cannot see it...
        db.session.execute(
            db.update(Order)
            .where(Order.id == history["orders"]["A"])
            .values(goods_fen=10100, total_fen=10100)
        )
        db.session.commit()
    assert runner.invoke(reports_cli, ["refresh"]).output == "Orders re-counted: 0\n"
    # ...a rebuild of its order date can.
    result = runner.invoke(reports_cli, ["rebuild", "--from", "2025-03-01", "--to", "2025-03-01"])
    assert result.output == "Orders re-counted: 5\n"
    daily = runner.invoke(reports_cli, ["daily", "--from", "2025-03-01", "--csv"])
    assert list(csv.reader(io.StringIO(daily.output)))[1][:3] == ["2025-03-01", "5", "651.00"]
    assert runner.invoke(reports_cli, ["rebuild"]).output == "Orders re-counted: 11\n"


def test_a_single_day_still_draws_its_lines_as_dots(app, client, history):
    """One day is one point per line: the daily charts show it as a dot rather than nothing."""
    log_in_as(app, client, "operator")
    text = client.get("/admin/reports/daily?start=2025-03-01&end=2025-03-01").text
    svgs = lxml_html.fromstring(text).xpath("//div[@class='chart']/*[local-name()='svg']")
    assert len(svgs) == 2
    for svg in svgs:
        assert svg.xpath(".//*[local-name()='circle']"), "a one-day line chart drew no point"


def test_an_empty_range_says_there_is_no_data_instead_of_a_blank_chart(app, client, history):
    log_in_as(app, client, "operator")
    for page in PAGES:
        text = client.get(f"{page}?start=2024-01-01&end=2024-01-31").text
        assert "这段时间没有数据" in text, page
        assert "<svg" not in text, page
