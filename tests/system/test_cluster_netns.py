"""Three collectors in three "datacenters" (docs/cluster.md, "Failure cases"), each site a
pair of network namespaces (its collector, its hosts) joined through a router namespace
(netns.py). Cutting a path in the router is a partition; SIGKILLing a site's processes is
a fire. SMTP and the Twilio fake run in the root namespace on the management address.

Timing (fwcluster.FAST_CLUSTER, FAST_DETECTION): agents send every second and a dead one
is DOWN within ~4 s; a peer is DOWN after peer_timeout = 3 s; the last in line (rank 2)
waits 2 x 3 s before it sends a page nobody logged. So after the first copy of a page
arrives, a duplicate would show up within ~6 s (+ one sync): tests that assert "only
once" wait DEDUP_WINDOW after the first copy.
"""
import time

import pytest

from fwcluster import (PEER_TIMEOUT_S, ClusterAgent, Member, describe, firing_emails, firing_sms,
                       sleep_until, wait_all_peers_up, wait_source_everywhere, write_cluster)
from fwtest import AGENT, COLLECTOR, http_get, metric_value, wait_for
from paging import FakeTwilio, SmtpServer

SITES = ("a", "b", "c")
HOSTS = ("web-1", "db-1")
DEDUP_WINDOW = 2 * PEER_TIMEOUT_S + 4


@pytest.fixture
def twilios():
    made = []
    yield made
    for t in made:
        t.close()


class Deployment:
    """Three sites, each with its collector and two agents that report to all three."""

    def __init__(self, harness, net, twilios, **config):
        self.h = harness
        self.net = net
        self.smtp = SmtpServer(harness, host=net.services_addr).start()
        self.twilio = FakeTwilio("ACtest", "demo-token", host=net.services_addr)
        twilios.append(self.twilio)
        members = [Member(f"site-{s}", host=net.site(s).col_addr, http_port=9760, udp_port=9761,
                          dc=f"site-{s}", network=net, ns=net.site(s).col_ns) for s in SITES]
        self.collectors = write_cluster(harness, members, f"{net.services_addr}:{self.smtp.port}",
                                        f"{net.services_addr}:{self.twilio.port}", **config)
        self.by_site = dict(zip(SITES, self.collectors))
        for c in self.collectors:
            c.start(wait_ready=False)
        for c in self.collectors:
            wait_for(c._ready, 20, what=f"{c.name} /readyz")
        self.agents = {}
        for s in SITES:
            for host in HOSTS:
                sid = f"{s}-{host}"
                self.agents[sid] = ClusterAgent(harness, sid, self.collectors, dc=f"site-{s}",
                                                network=net, ns=net.site(s).hosts_ns).start()
        wait_all_peers_up(self.collectors, timeout=15)
        wait_source_everywhere(self.collectors, list(self.agents), "UP", timeout=15)

    def col(self, s):
        return self.by_site[s]

    def site_agents(self, s):
        return [a for sid, a in self.agents.items() if sid.startswith(s + "-")]

    def dump(self):
        return describe(self.smtp, self.twilio, self.collectors)


def per_recipient(pages, key):
    out = {}
    for p in pages:
        out.setdefault(key(p), []).append(p)
    return out


# --- the plumbing itself, with a standalone collector (works without the cluster code) --

def test_network_plumbing_reaches_collector_and_cuts_paths(harness, network):
    net = network(("a",))
    site = net.site("a")
    cfg = f"""collector:
  id: plumbing
  data_dir: {harness.dir}/plumbing-data
  http_listen: {site.col_addr}:9760
  udp_listen: {site.col_addr}:9761
keys:
  - id: fleet
    file: {harness.key_path}
detection:
  backstop_intervals: 3
  backstop_grace: 1s
"""
    path = f"{harness.dir}/plumbing.yml"
    with open(path, "w") as f:
        f.write(cfg)
    collector = net.run(harness, site.col_ns, [COLLECTOR, "--config", path], "plumbing")
    url = f"http://{site.col_addr}:9760"
    # pytest (root namespace) reaches the collector through the mgmt link and wan.
    wait_for(lambda: http_get(url + "/healthz", timeout=1)[0] == 200, 20, what="/healthz from root")
    agent_cfg = f"""agent:
  source_id: plumb-1
  interval: 1s
  http_listen: ""
key:
  id: fleet
  file: {harness.key_path}
collectors:
  - name: a
    udp: {site.col_addr}:9761
"""
    with open(f"{harness.dir}/plumb-agent.yml", "w") as f:
        f.write(agent_cfg)
    agent = net.run(harness, site.hosts_ns, [AGENT, "--config", f"{harness.dir}/plumb-agent.yml"],
                    "plumb-agent")

    def state():
        import json
        body = http_get(url + "/api/v1/sources/plumb-1", timeout=1)
        return json.loads(body[1])["state"] if body[0] == 200 else None
    wait_for(lambda: state() == "UP", 15, what="the agent in the hosts namespace to be UP")
    assert http_get(url + "/api/v1/sources/plumb-1")[0] == 200
    # The pid is the daemon's own (ip netns exec execs): the collector's /proc entry.
    with open(f"/proc/{collector.pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0].endswith(b"firewatch-collector")
    with open(f"/proc/{agent.pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0].endswith(b"firewatch-agent")

    net.cut(site.hosts_ns, site.col_ns)            # a path: the hosts' heartbeats are lost
    wait_for(lambda: state() == "DOWN", 15, what="DOWN after the hosts' path is cut")
    assert http_get(url + "/healthz", timeout=2)[0] == 200   # other paths still work
    net.heal(site.hosts_ns, site.col_ns)
    wait_for(lambda: state() == "UP", 15, what="UP after heal")

    net.link_down(site.col_ns)                     # a full cut
    with pytest.raises(OSError):
        import urllib.request
        urllib.request.urlopen(url + "/healthz", timeout=2)
    net.link_up(site.col_ns)
    wait_for(lambda: http_get(url + "/healthz", timeout=1)[0] == 200, 15, what="/healthz after link up")

    net.close()
    assert not collector.alive() and not agent.alive()
    assert net.leftovers() == []


# --- scenario 1: a whole site burns -------------------------------------------------------

def test_whole_site_dies_one_grouped_page_per_contact(harness, network, twilios):
    d = Deployment(harness, network(SITES), twilios,
                   first_targets="[schedule:primary, bob]", group_wait="10s")
    burned = time.monotonic()
    d.col("a").proc.kill()
    for a in d.site_agents("a"):
        a.proc.kill()

    def both_paged():
        mails = per_recipient(firing_emails(d.smtp), lambda p: p.to)
        sms = per_recipient(firing_sms(d.twilio), lambda s: s["To"])
        return (set(mails) == {"alice@example.com", "bob@example.com"}
                and set(sms) == {"+15550100001", "+15550100002"})
    wait_for(both_paged, 60, interval=0.5, what="alice and bob paged by email and SMS")
    first = time.monotonic()
    assert first - burned <= 60
    sleep_until(first + DEDUP_WINDOW)  # a duplicate or a second page would be here by now

    mails = firing_emails(d.smtp)
    sms = firing_sms(d.twilio)
    dump = d.dump()
    assert sorted(p.to for p in mails) == ["alice@example.com", "bob@example.com"], dump
    assert sorted(s["To"] for s in sms) == ["+15550100001", "+15550100002"], dump
    for p in mails:  # one grouped page: the lost collector and its hosts, nothing else
        assert p.alertnames == {"CollectorDown", "SourceDown"}, dump
        assert p.collectors == {"site-a"}, dump
        assert p.sources == {"a-web-1", "a-db-1"}, dump
        assert p.dcs == {"site-a"}, dump
        assert p.sender in ("site-b", "site-c"), dump
    for s in sms:
        assert " in site-a " in s["Body"], dump
    assert d.twilio.errors == []
    # The survivors agree: A is down on both, and the pages came under one incident id.
    for s in ("b", "c"):
        assert d.col(s).peer_states()["site-a"] == "down", dump
    assert len({p.incident for p in mails}) == 1, dump


# --- scenario 2: only A's path from the agents is cut --------------------------------------

def test_agents_cut_from_one_collector_is_a_path_warning_not_a_page(harness, network, twilios):
    d = Deployment(harness, network(SITES), twilios, group_wait="5s")
    net = d.net
    for s in SITES:
        net.cut(net.site(s).hosts_ns, net.site("a").col_ns)
    cut = time.monotonic()
    a = d.col("a")
    sources = set(d.agents)

    def warned(c):
        view = c.collectors()
        unheard = {w["source"]: w["unheard_by"] for w in view.get("path_warnings", [])}
        return set(unheard) == sources and all(v == ["site-a"] for v in unheard.values())
    # Every collector names A as the one that cannot hear the hosts (status page, API and
    # metrics), A itself and its peers alike.
    for c in d.collectors:
        wait_for(lambda: warned(c), 20, interval=0.5,
                 what=f"{c.name} to list a path warning naming site-a for every source")
        wait_for(lambda: metric_value(c.metrics(), "firewatch_cluster_path_warnings",
                                      {"collector": "site-a"}) == len(sources), 5,
                 what=f"firewatch_cluster_path_warnings{{collector=site-a}} on {c.name}")
    # No page: a local DOWN at A (~4 s) + group_wait 5 s + the owner sending at once would
    # have paged by ~10 s after the cut; wait 20 s after it, then check all quiet.
    sleep_until(cut + 20)
    dump = d.dump()
    assert firing_emails(d.smtp) == [] and firing_sms(d.twilio) == [], dump
    for c in d.collectors:
        assert c.incidents() == [], dump
        assert set(c.peer_states().values()) == {"up"}, dump
        srcs = c.sources()
        if c is not a:  # B and C hear every host
            assert all(srcs[s]["state"] == "UP" for s in sources), dump
    assert a.collectors().get("isolated") is False, dump


# --- one peer link cut: a path warning about a collector, not a page -------------------

def test_one_cut_peer_link_is_a_path_warning_not_a_collector_page(harness, network, twilios):
    d = Deployment(harness, network(SITES), twilios, group_wait="5s")
    net = d.net
    net.cut(net.site("a").col_ns, net.site("c").col_ns)   # B still reaches both
    cut = time.monotonic()

    def warned(c, about, by):
        for peer in c.collectors()["collectors"]:
            if peer["id"] == about:
                return peer.get("path_warning") is True and peer.get("unreachable_from") == by
        return False
    # A and C lose each other; B tells both that the other is alive: no agreement, no page.
    wait_for(lambda: warned(d.col("a"), "site-c", ["site-a"]), 20, interval=0.5,
             what="A to report a path warning about site-c")
    wait_for(lambda: warned(d.col("b"), "site-c", ["site-a"]), 20, interval=0.5,
             what="B to report that A cannot reach site-c")
    wait_for(lambda: metric_value(d.col("a").metrics(), "firewatch_cluster_peer_path_warning",
                                  {"peer": "site-c"}) == 1, 5,
             what="firewatch_cluster_peer_path_warning{peer=site-c} on A")
    # A collector-down page would need agreement: peer_timeout (3 s) + group_wait (5 s) +
    # sending; wait 20 s after the cut, then nothing may have been paged anywhere.
    sleep_until(cut + 20)
    dump = d.dump()
    assert firing_emails(d.smtp) == [] and firing_sms(d.twilio) == [], dump
    for c in d.collectors:
        assert c.incidents() == [], dump
    assert "path warning: not reached from site-a" in http_get(d.col("a").url + "/")[1].decode(), dump


# --- scenario 3: A partitioned from B and C --------------------------------------------

def test_partition_each_side_pages_once(harness, network, twilios):
    d = Deployment(harness, network(SITES), twilios, group_wait="5s")
    net = d.net
    net.cut(net.site("a").col_ns, net.site("b").col_ns)
    net.cut(net.site("a").col_ns, net.site("c").col_ns)

    # A alone but hearing its sources pages B and C down (after alone_hold); B and C agree
    # that A is down and page that once. group_by dc: one incident per lost collector.
    def three_pages():
        mails = firing_emails(d.smtp)
        named = [c for p in mails for c in p.collectors]
        return sorted(set(named)) == ["site-a", "site-b", "site-c"] and len(firing_sms(d.twilio)) >= 3
    wait_for(three_pages, 45, interval=0.5, what="pages about site-a, site-b and site-c")
    sleep_until(time.monotonic() + DEDUP_WINDOW)

    mails = firing_emails(d.smtp)
    sms = firing_sms(d.twilio)
    dump = d.dump()
    assert all(p.to == "alice@example.com" for p in mails), dump
    by_lost = per_recipient(mails, lambda p: tuple(sorted(p.collectors)))
    assert sorted(by_lost) == [("site-a",), ("site-b",), ("site-c",)], dump
    for lost, pages in by_lost.items():
        assert len(pages) == 1, f"{lost} paged {len(pages)} times\n{dump}"
        assert pages[0].alertnames == {"CollectorDown"}, dump   # no host is down anywhere
    assert by_lost[("site-a",)][0].sender in ("site-b", "site-c"), dump
    assert by_lost[("site-b",)][0].sender == "site-a", dump
    assert by_lost[("site-c",)][0].sender == "site-a", dump
    assert sorted(s["Body"].split(" in ")[1].split(" ")[0] for s in sms) == \
        ["site-a", "site-b", "site-c"], dump
    view = d.col("a").collectors()
    assert view["alone"] is True and view["isolated"] is False, dump
    text = d.col("a").metrics()
    assert metric_value(text, "firewatch_cluster_isolated", {"mode": "alone"}) == 1, text
    assert metric_value(text, "firewatch_cluster_isolated", {"mode": "isolated"}) == 0, text


# --- scenario 5: the owner dies holding the claim ---------------------------------------

def test_owner_killed_before_delivering_another_collector_delivers(harness, network, twilios):
    d = Deployment(harness, network(SITES), twilios, group_wait="0s")
    net = d.net
    a = d.col("a")
    # A (rank 0, the owner) cannot reach SMTP or Twilio: its attempts fail while it holds
    # the claim. pytest still reaches A (its own address differs from the services').
    net.cut(net.site("a").col_ns, net.services_addr)
    d.agents["b-web-1"].proc.kill()

    def a_tried():
        text = a.metrics()
        return all((metric_value(text, "firewatch_notifications_total",
                                 {"channel": ch, "result": "retryable"}) or 0) >= 1
                   for ch in ("email", "sms"))
    wait_for(a_tried, 30, interval=0.5, what="A's first failed attempts (it holds the claims)")
    # While A is alive and its claim young, B and C hold back (a slow gateway is not a
    # reason for a duplicate): the last in line would have sent after 2 x peer_timeout.
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    assert firing_emails(d.smtp) == [] and firing_sms(d.twilio) == [], d.dump()

    a.proc.kill()  # SIGKILL, by pid
    killed = time.monotonic()

    def about_b(pages):
        return [p for p in pages if p.dcs == {"site-b"}]

    def sms_about_b():
        return [(s, addr) for s, addr in d.twilio.sent_with_senders()
                if s["Body"].startswith("FIRING b-web-1 ")]
    wait_for(lambda: about_b(firing_emails(d.smtp)) and sms_about_b(), 30, interval=0.5,
             what="another collector to deliver the page after the owner died")
    assert time.monotonic() - killed < 30
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    mails = about_b(firing_emails(d.smtp))
    sms = sms_about_b()
    dump = d.dump()
    assert 1 <= len(mails) <= 2 and all(p.to == "alice@example.com" for p in mails), dump
    assert 1 <= len(sms) <= 2 and all(s["To"] == "+15550100001" for s, _ in sms), dump
    assert all(p.sources == {"b-web-1"} for p in mails), dump
    assert {p.sender for p in mails} <= {"site-b", "site-c"}, dump
    assert {addr for _, addr in sms} <= {net.site("b").col_addr, net.site("c").col_addr}, dump
    # Killing A is also a lost collector: B and C agree and page that, once.
    assert len([p for p in firing_emails(d.smtp) if p.collectors == {"site-a"}]) <= 1, dump


# --- scenario 4: A cut off from its peers and from most of its sources --------------------

def test_isolated_collector_says_so_once_instead_of_paging_every_host(harness, network, twilios):
    d = Deployment(harness, network(SITES), twilios, group_wait="5s")
    net = d.net
    a_col = net.site("a").col_ns
    for s in ("b", "c"):
        net.cut(a_col, net.site(s).col_ns)
    for s in SITES:
        net.cut(net.site(s).hosts_ns, a_col)
    cut = time.monotonic()
    # A still reaches SMTP and Twilio: it can say that it is isolated.

    def two_pages():
        names = [p.alertnames for p in firing_emails(d.smtp)]
        return {"CollectorIsolated"} in names and {"CollectorDown"} in names and len(firing_sms(d.twilio)) >= 2
    wait_for(two_pages, 45, interval=0.5, what="CollectorIsolated from A and CollectorDown A from B/C")
    # Held host pages would come after alone_hold (5 s) + group_wait (5 s); a duplicate
    # within DEDUP_WINDOW: wait past both.
    sleep_until(max(time.monotonic() + DEDUP_WINDOW, cut + 25))
    mails = firing_emails(d.smtp)
    dump = d.dump()
    assert len(mails) == 2 and len(firing_sms(d.twilio)) == 2, dump
    isolated = [p for p in mails if p.alertnames == {"CollectorIsolated"}]
    down = [p for p in mails if p.alertnames == {"CollectorDown"}]
    assert len(isolated) == 1 and len(down) == 1, dump
    assert isolated[0].sender == "site-a" and isolated[0].collectors == {"site-a"}, dump
    # its description names the lost peers and (some of) the lost hosts
    assert "site-b" in isolated[0].body and "site-c" in isolated[0].body, dump
    assert any(h in isolated[0].body for h in d.agents), dump
    assert down[0].collectors == {"site-a"} and down[0].sender in ("site-b", "site-c"), dump
    view = d.col("a").collectors()
    assert view["isolated"] is True and view["alone"] is True, dump
    text = d.col("a").metrics()
    assert metric_value(text, "firewatch_cluster_isolated", {"mode": "isolated"}) == 1, text
    for s in ("b", "c"):  # the hosts are fine as far as the rest of the cluster knows
        srcs = d.col(s).sources()
        assert all(srcs[h]["state"] == "UP" for h in d.agents), dump
