#include "http/connection_gate.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "firewatch/sync/mutex.h"

namespace firewatch::collector {

namespace {

struct Endpoint {
  std::string ip;
  uint16_t port = 0;
};

bool Describe(const sockaddr_storage& ss, Endpoint& out) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) == nullptr) return false;
    out.port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text) == nullptr) return false;
    out.port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  out.ip = text;
  return true;
}

bool Peer(int fd, Endpoint& out) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  return getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && Describe(ss, out);
}

bool Local(int fd, Endpoint& out) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && Describe(ss, out);
}

struct Entry {
  int fd = -1;
  uint16_t client_port = 0;
  uint16_t local_port = 0;
};

struct GateState {
  int max_per_client = 0;
  std::function<void()> on_refused;
  std::map<std::string, std::vector<Entry>> open;  // client ip -> its connections
  uint64_t admitted = 0;
};

// Whether `e` still is the connection from `ip` that was admitted (the fd may have been
// closed by civetweb and perhaps reused for another socket since).
bool StillOpen(const std::string& ip, const Entry& e) {
  Endpoint peer, local;
  return Peer(e.fd, peer) && Local(e.fd, local) && peer.ip == ip &&
         peer.port == e.client_port && local.port == e.local_port;
}

void Prune(const std::string& ip, std::vector<Entry>& entries) {
  std::erase_if(entries, [&ip](const Entry& e) { return !StillOpen(ip, e); });
}

Mutex g_mu;
std::map<uint16_t, GateState> g_gates FW_GUARDED_BY(g_mu);  // by listening port
std::atomic<int> g_gate_count{0};

constexpr uint64_t kSweepEvery = 256;  // accepts between full sweeps of stale entries

// Decides on a connection `conn` accepted from listening socket `listener`.
bool Admit(int listener, int conn) {
  if (g_gate_count.load(std::memory_order_relaxed) == 0) return true;
  Endpoint where, peer, local;
  if (!Local(listener, where)) return true;
  std::function<void()> refused;
  {
    MutexLock lock(g_mu);
    auto gate = g_gates.find(where.port);
    if (gate == g_gates.end()) return true;
    GateState& st = gate->second;
    if (!Peer(conn, peer) || !Local(conn, local)) return true;  // gone already: civetweb sees it
    if (++st.admitted % kSweepEvery == 0) {
      for (auto it = st.open.begin(); it != st.open.end();) {
        Prune(it->first, it->second);
        it = it->second.empty() ? st.open.erase(it) : std::next(it);
      }
    }
    auto& entries = st.open[peer.ip];
    Prune(peer.ip, entries);
    if (st.max_per_client <= 0 || static_cast<int>(entries.size()) < st.max_per_client) {
      entries.push_back(Entry{conn, peer.port, local.port});
      return true;
    }
    refused = st.on_refused;
  }
  if (refused) refused();
  return false;
}

}  // namespace

std::unique_ptr<ConnectionGate> ConnectionGate::Install(uint16_t port, int max_per_client,
                                                        std::function<void()> on_refused) {
  MutexLock lock(g_mu);
  GateState& st = g_gates[port];
  st = GateState{};
  st.max_per_client = max_per_client;
  st.on_refused = std::move(on_refused);
  g_gate_count.store(static_cast<int>(g_gates.size()));
  return std::unique_ptr<ConnectionGate>(new ConnectionGate(port));
}

ConnectionGate::~ConnectionGate() {
  MutexLock lock(g_mu);
  g_gates.erase(port_);
  g_gate_count.store(static_cast<int>(g_gates.size()));
}

int ConnectionGate::SocketOf(uint16_t port, const std::string& ip, uint16_t client_port) {
  MutexLock lock(g_mu);
  auto gate = g_gates.find(port);
  if (gate == g_gates.end()) return -1;
  auto it = gate->second.open.find(ip);
  if (it == gate->second.open.end()) return -1;
  for (const Entry& e : it->second) {
    if (e.client_port == client_port && StillOpen(ip, e)) return e.fd;
  }
  return -1;
}

}  // namespace firewatch::collector

// See connection_gate.h: interposes libc's accept for libcivetweb.
extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) {
  using AcceptFn = int (*)(int, sockaddr*, socklen_t*);
  static const AcceptFn next = reinterpret_cast<AcceptFn>(dlsym(RTLD_NEXT, "accept"));
  if (next == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int conn = next(fd, addr, len);
  if (conn < 0) return conn;
  if (!firewatch::collector::Admit(fd, conn)) {
    ::close(conn);
    errno = ECONNABORTED;
    return -1;
  }
  return conn;
}
