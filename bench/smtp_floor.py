"""The floor for sending over SMTP: the first N participants of the floor database rendered
exactly as render_floor.py renders them, handed to one reused `smtplib.SMTP` connection with
`sendmail` per message; no bookkeeping.

usage: smtp_floor.py FLOORS_DIR DB HOST PORT N
"""

from __future__ import annotations

import email.policy
import email.utils
import smtplib
import sqlite3
import sys
from email.headerregistry import Address
from email.message import EmailMessage

import jinja2


def main() -> None:
    floors, db, host, port, n = sys.argv[1:6]
    sys.path.insert(0, floors)
    from render_floor import BODY, SUBJECT  # the same templates as the render floor

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    subject, body = env.from_string(SUBJECT), env.from_string(BODY)
    con = sqlite3.connect(db)
    rows = con.execute(
        """SELECT e.course_id, e.person_id, c.name, c."end", p.first_name, p.infix, p.last_name, p.email
           FROM enrollments e JOIN courses c USING (course_id) JOIN persons p USING (person_id)
           LIMIT ?""",
        (int(n),),
    )
    with smtplib.SMTP(host, int(port)) as smtp:
        for course_id, person_id, cname, cend, first, infix, last, addr in rows:
            full = " ".join(x for x in (first, infix, last) if x)
            ctx = {
                "course": {"name": cname, "end": cend},
                "person": {"first_name": first, "full_name": full},
            }
            msg = EmailMessage(policy=email.policy.SMTP)
            msg["Subject"] = subject.render(ctx)
            msg["From"] = Address("Training office", addr_spec="training@example.org")
            user, domain = addr.split("@")
            msg["To"] = Address(full, user, domain)
            msg["Date"] = email.utils.formatdate(localtime=True)
            msg["Message-ID"] = f"<certificate.{course_id}.{person_id}@certify.invalid>"
            msg.set_content(body.render(ctx))
            smtp.sendmail("training@example.org", [addr], msg.as_bytes())


if __name__ == "__main__":
    main()
