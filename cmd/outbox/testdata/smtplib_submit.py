"""Submit one message to Outbox's SMTP listener with Python's smtplib.

usage: smtplib_submit.py HOST PORT CAFILE USER PASSWORD

It connects, upgrades with STARTTLS trusting only CAFILE (the development
certificate of the data directory), logs in and sends a message with
send_message(). It prints one JSON object: the reply to DATA (code and
text) and, base64-encoded, the exact bytes smtplib handed to DATA.
"""

import base64
import json
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


class RecordingSMTP(smtplib.SMTP):
    """An SMTP client that remembers what it sent with DATA and the reply,
    which send_message() does not return."""

    def data(self, msg):
        self.sent = msg
        self.data_reply = super().data(msg)
        return self.data_reply


def main():
    host, port, cafile, user, password = sys.argv[1:6]
    msg = EmailMessage()
    msg["From"] = "Helpdesk <help@example.com>"
    msg["To"] = "Customer <customer@example.net>"
    msg["Subject"] = "Ticket #42: réponse"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="app.example.com")
    msg["X-Outbox-Tags"] = "python, helpdesk"
    msg.set_content("Hello,\n\n.a line that starts with a dot\n.\nThanks — the helpdesk\n")

    context = ssl.create_default_context(cafile=cafile)
    # An explicit EHLO name: the default, socket.getfqdn(), may wait on DNS.
    with RecordingSMTP(host, int(port), local_hostname="client.example.com") as smtp:
        smtp.starttls(context=context)
        smtp.login(user, password)
        smtp.send_message(msg)
        code, text = smtp.data_reply
        sent = smtp.sent
    json.dump(
        {
            "code": code,
            "reply": text.decode(),
            "sent": base64.b64encode(sent).decode(),
            "tls": True,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
