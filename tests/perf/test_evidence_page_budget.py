"""The engagement page of a trial with 10 metrics × 1,000 measurements each stays within the
page budget (issue 27): the same SQL statements as with 10 measurements a metric, bytes
under the bound, and neither the charts nor the tables draw every measurement (each chart
draws MAX_DRAWN points, each table shows the latest 10 and links to the CSV)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from tests.factories import add_metric, add_milestone, add_target, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Measurement
from tracker.web.support.metric_chart import MAX_DRAWN

METRICS = 10
PAGE_BYTES_BOUND = 100_000  # the performance issue's budget for the engagement page
STATEMENTS_BOUND = 19  # 19 measured (ADR 0258: statements built once, reasons from updates)


def _fill(engagement_id: int, metric_ids: list[int], count: int) -> None:
    """`count` daily-ish measurements per metric, bulk inserted, ending an hour ago."""
    end = datetime.now(UTC) - timedelta(hours=1)
    rows = []
    for metric_id in metric_ids:
        for n in range(count):
            when = end - timedelta(hours=6 * (count - n))
            value = 2000 + (n * 37) % 500
            rows.append(
                {"engagement_id": engagement_id, "metric_id": metric_id, "value": value,
                 "measured_at": when, "measured_on": when.date(), "note": "",
                 "created_at": when}
            )  # fmt: skip
    db.session.execute(insert(Measurement), rows)
    db.session.commit()


def _trial(manager, title: str, count: int) -> int:
    engagement = make_engagement(manager, title=title)
    day30 = add_milestone(engagement, days=-5, title="Day-30")
    day60 = add_milestone(engagement, days=25, title="Day-60")
    ids = []
    for n in range(METRICS):
        metric = add_metric(engagement, name=f"Metric {n}", kind="latency", direction="lower",
                            baseline=2600, unit="ms")  # fmt: skip
        add_target(day30, metric, 2300)
        add_target(day60, metric, 2100)
        ids.append(metric.id)
    _fill(engagement.id, ids, count)
    return engagement.id


def _get(client, query_counter, url: str) -> tuple[str, int]:
    client.get(url)  # warm-up: definitions, templates
    with query_counter() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True), counter.count


def test_ten_metrics_of_a_thousand_measurements_stay_in_the_page_budget(
    app, client, auth, query_counter
):
    with app.app_context():
        manager = make_user("manager", email="budget@example.com")
        small = _trial(manager, "Ten a metric", 10)
        large = _trial(manager, "A thousand a metric", 1000)
        db.session.remove()
    auth.login("budget@example.com")
    few_html, few_statements = _get(client, query_counter, f"/engagements/{small}")
    html, statements = _get(client, query_counter, f"/engagements/{large}")

    assert statements == few_statements <= STATEMENTS_BOUND, (few_statements, statements)
    size = len(html.encode())
    assert size < PAGE_BYTES_BOUND, size
    assert html.count('class="metric-chart"') == METRICS
    # the numbers tables: the latest 10 of each metric, and a pointer to every one
    assert html.count("<td>Measured</td>") == METRICS * 10
    assert html.count("The latest 10 of 1000") == METRICS
    # each chart draws MAX_DRAWN points of its thousand (thinned in SQL, then here)
    series = re.findall(r'<polyline class="series" points="([^"]*)"', html)
    assert [len(points.split()) for points in series] == [MAX_DRAWN] * METRICS
    print(f"\nengagement page, 10 x 1,000: {size:,} bytes, {statements} statements "
          f"(10 x 10: {len(few_html.encode()):,} bytes, {few_statements})")  # fmt: skip
