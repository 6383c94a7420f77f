"""A collector that pages alice (step 1) and bob (step 2) by email and SMS, for the tests of
incident life across recoveries, acks and restarts (issues #9 and #16). Grouping timers are
deliberately long: resolution must not wait for them."""
import os

from paging import SmtpServer, people_and_channels


def life_config(harness, smtp_port, twilio_port, step_wait="8s", reopen_window="0s",
                group_interval="5m"):
    token = os.path.join(harness.dir, "twilio.token")
    with open(token, "w") as f:
        f.write("demo-token\n")
    return f"""
{people_and_channels(token, f'127.0.0.1:{smtp_port}', f'127.0.0.1:{twilio_port}', step_wait)}route:
  escalation_policy: default
  group_by: [alertname, source]
  group_wait: 0s
  group_interval: {group_interval}
alerting:
  retry_base: 500ms
  retry_max_delay: 1s
  max_attempts: 100
  reopen_window: {reopen_window}
"""


class Inbox:
    """What alice and bob received: (kind, channel) pairs per person, kind from the text."""

    def __init__(self, smtp, twilio):
        self.smtp = smtp
        self.twilio = twilio

    def of(self, who):
        email = f"{who}@example.com"
        phone = {"alice": "+15550100001", "bob": "+15550100002"}[who]
        out = []
        for m in self.smtp.messages():
            if m["To"] == email:
                subject = m["Subject"]
                out.append((subject.split("]", 1)[0].strip("["), "email"))
        for s in self.twilio.sent():
            if s["To"] == phone:
                out.append((s["Body"].split(" ", 1)[0], "sms"))
        return sorted(out)

    def count(self, who, kind):
        return sum(1 for k, _ in self.of(who) if k == kind)

    def channels(self, who, kind):
        """The channels `who` got at least one `kind` message on."""
        return {ch for k, ch in self.of(who) if k == kind}


def start_paging_collector(harness, twilio, **kw):
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=life_config(harness, smtp.port, twilio.port, **kw))
    return smtp, collector, Inbox(smtp, twilio)
