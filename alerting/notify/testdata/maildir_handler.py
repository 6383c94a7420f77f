"""aiosmtpd handler for firewatch notifier tests: delivers into a Maildir.

Run as:  /usr/bin/aiosmtpd -n -l 127.0.0.1:PORT -c maildir_handler.MaildirHandler \
             MAILDIR [USER:PASSWORD]
(with this directory on PYTHONPATH). Each accepted message is written byte for byte
(after SMTP dot-unstuffing, CRLF kept) to MAILDIR/new/<unique>, and its envelope
(MAIL FROM, RCPT TO, whether the session authenticated, whether it used TLS) to
MAILDIR/envelopes/<unique>.json. Recipients whose local part is "reject" get
550 5.1.1, "busy" get 451 4.3.0. With USER:PASSWORD, AUTH PLAIN is offered (after
STARTTLS, aiosmtpd's default) and MAIL FROM is refused with 530 until it succeeded.
"""

import base64
import itertools
import json
import os
import time

from aiosmtpd.smtp import AuthResult, LoginPassword

_counter = itertools.count()


class MaildirHandler:
    def __init__(self, maildir, auth=None):
        self.maildir = maildir
        self.auth = auth
        for sub in ("tmp", "new", "cur", "envelopes"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) not in (1, 2):
            parser.error("handler arguments: MAILDIR [USER:PASSWORD]")
        auth = None
        if len(args) == 2:
            user, _, password = args[1].partition(":")
            auth = (user.encode(), password.encode())
        return cls(args[0], auth)

    # AUTH PLAIN (RFC 4616), with or without an initial response. Overrides aiosmtpd's
    # built-in mechanism, whose default callback refuses everyone.
    async def auth_PLAIN(self, server, args):
        if self.auth is None:
            return AuthResult(success=False, handled=False)
        if len(args) == 2:
            blob = args[1].encode()
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
            blob = base64.b64encode(blob)
        try:
            _, user, password = base64.b64decode(blob, validate=True).split(b"\0")
        except Exception:
            return AuthResult(success=False, handled=False)
        ok = (user, password) == self.auth
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(user, password))

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local == "reject":
            return "550 5.1.1 <%s>: Recipient address rejected: mailbox unavailable" % address
        if local == "busy":
            return "451 4.3.0 <%s>: Try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = "%d.%d_%d.firewatch-test" % (time.time(), os.getpid(), next(_counter))
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        info = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated": bool(session.authenticated),
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
        }
        with open(os.path.join(self.maildir, "envelopes", name + ".json"), "w") as f:
            json.dump(info, f)
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return "250 Message accepted for delivery"
