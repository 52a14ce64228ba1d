"""Notifications in each recipient's language; recipients no channel can reach."""
from __future__ import annotations

import pytest

from engine.alerts.worker import Worker
from tests.conftest import make_engine

from .conftest import USERS

TICKET = """\
form: ticket
title: {en: Ticket, zh: 工单}
number: "T-{seq:03}"
title_field: number
fields:
  - {name: subject, type: text, required: true}
  - name: priority
    type: choice
    options:
      - {value: high, label: {en: High, zh: 高}}
      - {value: low, label: {en: Low, zh: 低}}
  - name: tags
    type: multichoice
    options:
      - {value: vip, label: {en: VIP customer, zh: 大客户}}
      - plain
  - {name: agent, type: user}
permissions:
  create: [sales]
  read: [sales, purchasing]
  update: [sales]
"""

HOT_TICKET = """\
alert: hot_ticket
title: {en: Hot ticket, zh: 紧急工单}
form: ticket
on: create
if: "priority == 'high'"
notify:
  to: {role: purchasing}
  channels: [inbox, email]
  subject: "{{number}} {{priority}} {{tags}}{% if priority == 'high' %} !{% endif %}"
  body: "{{subject}}: {{priority}}"
"""

UNTITLED = """\
alert: any_ticket
title: {en: New ticket, zh: 新工单}
form: ticket
on: create
notify:
  to: {field: agent}
  channels: [inbox, email]
"""


@pytest.fixture
def multi(alerts_dir, database_url, clock, smtp):
    app = alerts_dir / "app.yaml"
    app.write_text(app.read_text().replace("languages: [en]", "languages: [en, zh]"))
    (alerts_dir / "forms" / "ticket.yaml").write_text(TICKET)
    (alerts_dir / "alerts" / "hot_ticket.yaml").write_text(HOT_TICKET)
    (alerts_dir / "alerts" / "any_ticket.yaml").write_text(UNTITLED)
    e = make_engine(alerts_dir, database_url, clock)
    for name, (roles, manager) in USERS.items():
        e.add_user(name, roles, manager=manager, email=f"{name}@example.com", is_admin=name == "root")
    e.add_user("wang", ["purchasing"], email="wang@example.com", language="zh")
    e.add_user("li", ["purchasing", "sales"], language="zh")  # no email address
    yield e
    e.close()


def inbox(eng, name):
    return [(n["subject"], n["body"]) for n in eng.notifications(eng.user(name))]


@pytest.mark.outbox_ok  # li has no email address: an undeliverable row stays
def test_alert__renders_choice_labels_in_each_recipients_language(multi, smtp):
    sal = multi.user("sal")
    t = multi.create(sal, "ticket", {"subject": "Printer", "priority": "high", "tags": ["vip", "plain"]})
    assert inbox(multi, "pat") == [(f"{t.number} High VIP customer, plain !", "Printer: High")]
    assert inbox(multi, "wang") == inbox(multi, "li") == [(f"{t.number} 高 大客户, plain !", "Printer: 高")]
    [fired] = [tr for tr in multi.alert_traces(multi.user("root"), alert="hot_ticket")]
    assert fired["detail"]["subjects"] == {"en": f"{t.number} High VIP customer, plain !",
                                           "zh": f"{t.number} 高 大客户, plain !"}
    Worker(multi).deliver()
    assert sorted((m["To"].addresses[0].addr_spec, str(m["Subject"])) for m in smtp.messages) == [
        ("pat@example.com", f"{t.number} High VIP customer, plain !"),
        ("wang@example.com", f"{t.number} 高 大客户, plain !")]


@pytest.mark.outbox_ok  # emails are queued, not delivered
def test_alert_without_subject__uses_its_title_in_the_recipients_language(multi):
    sal = multi.user("sal")
    a = multi.create(sal, "ticket", {"subject": "A", "priority": "low", "agent": "li"})
    b = multi.create(sal, "ticket", {"subject": "B", "priority": "low", "agent": "pat"})
    assert inbox(multi, "li") == [(f"新工单: {a.number}", "")]
    assert inbox(multi, "pat") == [(f"New ticket: {b.number}", "")]


@pytest.mark.outbox_ok  # the undeliverable row is what the test is about
def test_email_to_a_user_without_address__is_traced_and_listed_for_admins(multi, smtp):
    sal, root = multi.user("sal"), multi.user("root")
    t = multi.create(sal, "ticket", {"subject": "C", "priority": "low", "agent": "li"})
    [trace] = multi.alert_traces(root, alert="any_ticket")
    assert trace["detail"]["channels"]["email"] == {"queued": [], "no_email": ["li"]}
    assert multi.outbox_status() == {"undeliverable": 1}
    [row] = multi.dead_letters(root)
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "undeliverable", 0, "user 'li' has no email address")
    assert row["payload"]["record_id"] == t.id
    assert Worker(multi).deliver()["sent"] == 0 and smtp.messages == []
    assert multi.retry_dead(row["id"], root) is False  # nothing to retry until li has an address


def test_migrated_schema__indexes_alert_traces_at_for_the_prune(eng):
    import sqlalchemy as sa

    from engine.store import tables as t

    indexes = {i["name"]: i["column_names"] for i in sa.inspect(eng.db.engine).get_indexes("alert_traces")}
    assert indexes["ix_alert_traces_at"] == ["at"]
    assert set(indexes) == {i.name for i in t.alert_traces.indexes}
