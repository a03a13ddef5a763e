"""E-mail messages for alerts: a plain-text part and an HTML alternative.

Everything that came from data (titles hold coded terms, bodies may hold whatever a rule lists)
goes through html.escape in the HTML part, so a verbatim term like `<script>` arrives as text.
Messages carry the study id, the subject id, the event, the rule and a dashboard link, and
nothing else about the subject.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

# RFC 5322 allows 998-character lines; folding at 78 made some readers show a subject with a
# leading blank, so headers are folded only when they are really long
POLICY = email_policy.SMTP.clone(max_line_length=998)


def subject_line(study_id: str, alert: Mapping[str, Any]) -> str:
    subject = f"[{study_id}] {str(alert['severity']).upper()}: {alert['title']}"
    if alert.get("usubjid"):
        subject += f" - subject {alert['usubjid']}"
    # header injection: a title can never start a new header line, neither with a line break nor with an
    # RFC 2047 encoded word that decodes to one ('=?utf-8?q?=0A...?=' is decoded when the header is set)
    return " ".join(subject.split()).replace("=?", "= ?")


def _html_lines(body: str) -> str:
    rows = []
    for line in body.splitlines():
        label, sep, value = line.partition(": ")
        if sep:
            rows.append(f"<tr><th align='left' style='padding-right:1em'>{html.escape(label)}</th>"
                        f"<td>{html.escape(value)}</td></tr>")
        else:
            rows.append(f"<tr><td colspan='2'>{html.escape(line)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _link_html(link: str | None) -> str:
    if not link:
        return ""
    safe = html.escape(link, quote=True)
    return f"<p><a href=\"{safe}\">Open in the Vigil dashboard</a></p>"


def alert_message(study_id: str, alert: Mapping[str, Any], sender: str, to: list[str]) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject_line(study_id, alert)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "vigil.local")
    msg["X-Vigil-Alert"] = f"{alert['id']} {alert['rule']}"
    msg.set_content(f"{alert['body']}\n\nAlert {alert['id']} - acknowledge it in the dashboard.\n")
    msg.add_alternative(
        "<html><body>"
        f"<h3>{html.escape(str(alert['title']))}</h3>"
        f"{_html_lines(str(alert['body']))}{_link_html(alert.get('link'))}"
        f"<p style='color:#666'>Alert {int(alert['id'])} - acknowledge it in the dashboard.</p>"
        "</body></html>",
        subtype="html",
    )
    return msg


def digest_message(study_id: str, recipient: str, alerts: list[Mapping[str, Any]], sender: str,
                   to: list[str]) -> EmailMessage:
    """One message listing every digest alert for one recipient group (or address)."""
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = f"[{study_id}] Daily safety digest: {len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "vigil.local")
    msg["X-Vigil-Digest"] = recipient
    plain = [f"Study {study_id}: {len(alerts)} alert(s) since the last digest.", ""]
    rows = []
    for a in alerts:
        plain.append(f"- [{a['severity']}] {a['title']} (subject {a.get('usubjid') or '-'}, rule {a['rule']}, "
                     f"alert {a['id']}) {a.get('link') or ''}")
        link = a.get("link")
        anchor = f'<a href="{html.escape(link, quote=True)}">open</a>' if link else ""
        rows.append(
            f"<tr><td>{html.escape(str(a['severity']))}</td><td>{html.escape(str(a['title']))}</td>"
            f"<td>{html.escape(str(a.get('usubjid') or '-'))}</td><td>{html.escape(str(a['rule']))}</td>"
            f"<td>{anchor}</td></tr>"
        )
    msg.set_content("\n".join(plain) + "\n")
    msg.add_alternative(
        f"<html><body><h3>{html.escape(study_id)}: daily safety digest</h3>"
        "<table><tr><th>severity</th><th>event</th><th>subject</th><th>rule</th><th></th></tr>"
        + "".join(rows) + "</table></body></html>",
        subtype="html",
    )
    return msg
