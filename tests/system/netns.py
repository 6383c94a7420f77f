"""A multi-site network made of Linux network namespaces, for cluster tests (iproute2 only).

                     root namespace (pytest, SMTP, Twilio fake)
                           | mgmt veth: .1 = pytest, .3 = services (root side), .2 = wan
                        [ wan ]   router namespace, ip_forward=1 inside it only
              /      |       |       |       |       \\
        a-col   a-hosts   b-col   b-hosts   c-col   c-hosts     one veth pair and one /24 each,
                                                                 default route via wan

Every name the network creates carries a unique prefix ("fw<pid>n<k>"), so parallel or
leftover runs never collide, and teardown deletes exactly those names. Each run takes its
own block of 16 /24s inside 10.213.0.0/16 (a /20, chosen under a lock among blocks that no
interface or route in the root namespace uses yet); the root namespace gets one veth, two
addresses on it and one route (the block via wan), all removed on teardown.

Paths are cut in the wan router with policy rules (`ip rule add from X to Y blackhole`), so
a link stays up while a path is gone (a partition); link_down() takes a site's link down
(a full cut). Processes are started inside a namespace with `ip netns exec`, which execs the
command, so the tracked pid is the daemon's own and stop()/kill() reach it.

Use through the `network` fixture factory in conftest.py; it skips (with the reason) when
not root or when `ip netns` does not work, and tears down also when a test fails.
"""
import fcntl
import ipaddress
import itertools
import os
import re
import shutil
import signal
import subprocess

IP = shutil.which("ip") or "/usr/sbin/ip"
SYSCTL = shutil.which("sysctl") or "/usr/sbin/sysctl"
SUPERNET = ipaddress.ip_network("10.213.0.0/16")
BLOCK_PREFIX = 20                     # 16 /24s per run: mgmt + 2 per site, up to 7 sites
LOCK_PATH = "/run/firewatch-netns-test.lock"
_counter = itertools.count()


class NetnsUnavailable(Exception):
    pass


def sh(args, check=True, ns=None):
    """Runs an iproute2 (or sysctl) command; raises with its stderr on failure."""
    cmd = list(args)
    if ns is not None:
        cmd = [IP, "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def unavailable_reason():
    """None when this process can build namespaces, else why not (for pytest.skip)."""
    if os.geteuid() != 0:
        return "network-namespace tests need root (CI runs them as root)"
    if not os.path.exists(IP):
        return "iproute2 `ip` is not installed"
    probe = f"fw{os.getpid()}probe{next(_counter)}"
    r = subprocess.run([IP, "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"`ip netns add` does not work here: {r.stderr.strip()}"
    subprocess.run([IP, "netns", "del", probe], capture_output=True)
    return None


class Site:
    """One site: a namespace for its collector and one for its hosts (agents)."""

    def __init__(self, name, col_ns, hosts_ns, col_net, hosts_net):
        self.name = name
        self.col_ns = col_ns
        self.hosts_ns = hosts_ns
        self.col_net = col_net
        self.hosts_net = hosts_net
        self.col_addr = str(col_net[2])       # the collector listens here
        self.hosts_addr = str(hosts_net[2])   # the agents send from here


class Network:
    """Builds the namespaces and links at construction; close() removes them."""

    def __init__(self, site_names=("a", "b", "c")):
        if 1 + 2 * len(site_names) > 2 ** (24 - BLOCK_PREFIX):
            raise ValueError("too many sites for one address block")
        self.prefix = f"fw{os.getpid()}n{next(_counter)}"
        self.namespaces = []          # created, in order (deleted in reverse)
        self.root_links = []          # veth ends created in the root namespace
        self.root_routes = []         # routes added in the root namespace
        self.rules = {}               # (from, to) -> preference, in wan
        self.procs = []               # processes started with run()
        self._next_pref = 1000
        self.sites = {}
        self.closed = False
        try:
            self._build(site_names)
        except BaseException:
            self.close()
            raise

    # --- construction -------------------------------------------------------------
    def _build(self, site_names):
        self.wan = self._add_ns("wan")
        sh([SYSCTL, "-w", "net.ipv4.ip_forward=1"], ns=self.wan)
        with open(LOCK_PATH, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)   # block choice + root-ns setup are atomic
            try:
                self.block = self._free_block()
                subnets = list(self.block.subnets(new_prefix=24))
                mgmt = subnets[0]
                self.mgmt_wan_addr = str(mgmt[2])
                self.mgmt_addr = str(mgmt[1])        # pytest's address (root namespace)
                self.services_addr = str(mgmt[3])    # SMTP and Twilio fake (root namespace)
                root_if = self.prefix + "m"
                sh([IP, "link", "add", root_if, "type", "veth", "peer", "name", "mgmt",
                    "netns", self.wan])
                self.root_links.append(root_if)
                sh([IP, "addr", "add", f"{self.mgmt_addr}/24", "dev", root_if])
                sh([IP, "addr", "add", f"{self.services_addr}/24", "dev", root_if])
                sh([IP, "link", "set", root_if, "up"])
                sh([IP, "-n", self.wan, "addr", "add", f"{self.mgmt_wan_addr}/24", "dev", "mgmt"])
                sh([IP, "-n", self.wan, "link", "set", "mgmt", "up"])
                route = [str(self.block), "via", self.mgmt_wan_addr, "dev", root_if,
                         "src", self.mgmt_addr]
                sh([IP, "route", "add"] + route)
                self.root_routes.append(route)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        for i, name in enumerate(site_names):
            col_net, hosts_net = subnets[1 + 2 * i], subnets[2 + 2 * i]
            col_ns = self._add_ns(f"{name}-col")
            hosts_ns = self._add_ns(f"{name}-hosts")
            self._connect(col_ns, f"{name}-col", col_net)
            self._connect(hosts_ns, f"{name}-hosts", hosts_net)
            self.sites[name] = Site(name, col_ns, hosts_ns, col_net, hosts_net)

    def _add_ns(self, suffix):
        name = f"{self.prefix}-{suffix}"
        sh([IP, "netns", "add", name])
        self.namespaces.append(name)
        sh([IP, "-n", name, "link", "set", "lo", "up"])
        return name

    def _connect(self, ns, wan_if, net):
        """A veth pair: `wan_if` in wan (.1), eth0 in ns (.2), default route via wan."""
        sh([IP, "-n", self.wan, "link", "add", wan_if, "type", "veth", "peer", "name", "eth0",
            "netns", ns])
        sh([IP, "-n", self.wan, "addr", "add", f"{net[1]}/24", "dev", wan_if])
        sh([IP, "-n", self.wan, "link", "set", wan_if, "up"])
        sh([IP, "-n", ns, "addr", "add", f"{net[2]}/24", "dev", "eth0"])
        sh([IP, "-n", ns, "link", "set", "eth0", "up"])
        sh([IP, "-n", ns, "route", "add", "default", "via", str(net[1])])

    def _free_block(self):
        """The first /20 of 10.213.0.0/16 that no root-namespace address or route touches."""
        used = set()
        text = sh([IP, "-4", "-o", "addr", "show"]).stdout + sh([IP, "-4", "route", "show"]).stdout
        for m in re.finditer(r"\b(10\.213\.\d+\.\d+)(/\d+)?", text):
            net = ipaddress.ip_network(m.group(1) + (m.group(2) or "/32"), strict=False)
            used.add(net)
        for block in SUPERNET.subnets(new_prefix=BLOCK_PREFIX):
            if not any(block.overlaps(u) for u in used):
                return block
        raise RuntimeError("no free /20 left in 10.213.0.0/16 (leftover test networks?)")

    # --- lookups ----------------------------------------------------------------------
    def site(self, name):
        return self.sites[name]

    def _net_of(self, what):
        """A namespace name, site address or address -> the network/addr for a rule."""
        for s in self.sites.values():
            if what == s.col_ns:
                return str(s.col_net)
            if what == s.hosts_ns:
                return str(s.hosts_net)
        if what == "root":
            return f"{self.mgmt_addr}/32"
        return str(ipaddress.ip_network(what, strict=False))

    def _wan_if_of(self, ns):
        for s in self.sites.values():
            if ns == s.col_ns:
                return f"{s.name}-col"
            if ns == s.hosts_ns:
                return f"{s.name}-hosts"
        raise KeyError(ns)

    # --- faults ----------------------------------------------------------------------
    def cut(self, src, dst, both_ways=True):
        """Drops packets from `src` (a namespace of this network, or an address/network) to
        `dst` (the same kinds) in the wan router, and the way back unless both_ways=False.
        Links stay up: this is a partition of one path, not a dead cable."""
        pairs = [(self._net_of(src), self._net_of(dst))]
        if both_ways:
            pairs.append((pairs[0][1], pairs[0][0]))
        for frm, to in pairs:
            if (frm, to) in self.rules:
                continue
            pref = self._next_pref
            self._next_pref += 1
            sh([IP, "-n", self.wan, "rule", "add", "from", frm, "to", to, "blackhole",
                "pref", str(pref)])
            self.rules[(frm, to)] = pref

    def heal(self, src, dst, both_ways=True):
        pairs = [(self._net_of(src), self._net_of(dst))]
        if both_ways:
            pairs.append((pairs[0][1], pairs[0][0]))
        for frm, to in pairs:
            self.heal_pair(frm, to)

    def heal_all(self):
        for frm, to in list(self.rules):
            self.heal_pair(frm, to)

    def heal_pair(self, frm, to):
        pref = self.rules.pop((frm, to), None)
        if pref is not None:
            sh([IP, "-n", self.wan, "rule", "del", "pref", str(pref)])

    def link_down(self, ns):
        """Takes the namespace's link to wan down (wan side): nothing gets in or out."""
        sh([IP, "-n", self.wan, "link", "set", self._wan_if_of(ns), "down"])

    def link_up(self, ns):
        sh([IP, "-n", self.wan, "link", "set", self._wan_if_of(ns), "up"])

    # --- processes ---------------------------------------------------------------------
    def run(self, harness, ns, args, name, **kw):
        """Starts `args` inside `ns` as a fwtest Proc (tracked by the harness and by this
        network, stopped by pid). `ip netns exec` execs the command: the pid is the
        daemon's."""
        if ns not in self.namespaces:
            raise ValueError(f"{ns} is not a namespace of this network")
        p = harness.start([IP, "netns", "exec", ns] + list(args), name, **kw)
        self.procs.append(p)
        return p

    def exec(self, ns, args, **kw):
        """Runs a short command inside `ns` and returns the CompletedProcess."""
        if ns not in self.namespaces:
            raise ValueError(f"{ns} is not a namespace of this network")
        return subprocess.run([IP, "netns", "exec", ns] + list(args), capture_output=True,
                              text=True, timeout=kw.pop("timeout", 20), **kw)

    # --- teardown ----------------------------------------------------------------------
    def close(self):
        """Stops this network's processes (by pid), then deletes exactly what it created.
        Safe to call twice; errors are collected and raised at the end."""
        if self.closed:
            return
        self.closed = True
        errors = []
        for p in reversed(self.procs):
            try:
                if p.alive():
                    p.stop(signal.SIGKILL)
                elif not p.log.closed:
                    p.log.close()
            except Exception as e:  # noqa: BLE001 - keep tearing down
                errors.append(f"stop pid {p.pid}: {e}")
        for route in reversed(self.root_routes):
            r = sh([IP, "route", "del"] + route, check=False)
            if r.returncode != 0 and "No such process" not in r.stderr:
                errors.append(f"route del {route}: {r.stderr.strip()}")
        for link in reversed(self.root_links):   # deleting one end deletes the pair
            r = sh([IP, "link", "del", link], check=False)
            if r.returncode != 0 and "Cannot find device" not in r.stderr:
                errors.append(f"link del {link}: {r.stderr.strip()}")
        for ns in reversed(self.namespaces):
            r = sh([IP, "netns", "del", ns], check=False)
            if r.returncode != 0:
                errors.append(f"netns del {ns}: {r.stderr.strip()}")
        self.namespaces.clear()
        self.root_links.clear()
        self.root_routes.clear()
        if errors:
            raise RuntimeError("network teardown: " + "; ".join(errors))

    def leftovers(self):
        """Names of this network's namespaces and links that still exist (for tests)."""
        left = []
        listed = sh([IP, "netns", "list"]).stdout
        left += [line.split()[0] for line in listed.splitlines() if line.startswith(self.prefix + "-")]
        links = sh([IP, "-o", "link", "show"]).stdout
        left += [m for m in re.findall(r"^\d+: ([^:@]+)", links, re.M) if m.startswith(self.prefix)]
        return left
