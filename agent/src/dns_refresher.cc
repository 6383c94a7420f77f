#include "dns_refresher.h"

#include <netdb.h>

#include <algorithm>
#include <string>

namespace firewatch::agent {

struct DnsRefresher::Lookup {
  uv_getaddrinfo_t req;
  DnsRefresher* owner;
  size_t entry;
};

DnsRefresher::DnsRefresher(uv_loop_t* loop, Duration interval, Duration retry)
    : loop_(loop), interval_(interval), retry_(std::min(retry, interval)) {}

DnsRefresher::~DnsRefresher() {
  Close();
  // Lookups still running keep a pointer to us; detach them so their completion only
  // frees memory.
  for (Lookup* l : lookups_) l->owner = nullptr;
}

void DnsRefresher::Add(ResolvedEndpoint* endpoint, int socktype, OnResult on_result) {
  if (endpoint->is_literal()) return;
  entries_.push_back(Entry{endpoint, socktype, std::move(on_result)});
}

void DnsRefresher::Start() {
  if (closed_ || entries_.empty()) return;
  timer_.Init(loop_, [this] { StartRound(); });
  StartRound();
}

void DnsRefresher::StartRound() {
  for (size_t i = 0; i < entries_.size(); ++i) {
    const auto& target = entries_[i].endpoint->target();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = entries_[i].socktype;
    hints.ai_flags = AI_NUMERICSERV;
    auto* l = new Lookup{};
    l->owner = this;
    l->entry = i;
    l->req.data = l;
    std::string port = std::to_string(target.port);
    int rc = uv_getaddrinfo(
        loop_, &l->req,
        [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
          auto* lookup = static_cast<Lookup*>(req->data);
          if (lookup->owner != nullptr) {
            lookup->owner->OnLookupDone(lookup, status, res);
          } else {
            uv_freeaddrinfo(res);
            delete lookup;
          }
        },
        target.host.c_str(), port.c_str(), &hints);
    if (rc != 0) {
      delete l;
      ResolvedEndpoint::Update u = entries_[i].endpoint->OnLookupFailure();
      entries_[i].on_result(u, rc);
      continue;
    }
    lookups_.push_back(l);
    ++in_flight_;
  }
  if (in_flight_ == 0) ScheduleNextRound();
}

void DnsRefresher::OnLookupDone(Lookup* lookup, int status, addrinfo* res) {
  lookups_.erase(std::remove(lookups_.begin(), lookups_.end(), lookup), lookups_.end());
  --in_flight_;
  const Entry& e = entries_[lookup->entry];
  delete lookup;
  if (!closed_) {
    std::vector<SocketAddress> found;
    if (status == 0) {
      for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        if (auto a = SocketAddress::FromSockaddr(ai->ai_addr, e.endpoint->target().port)) {
          if (std::find(found.begin(), found.end(), *a) == found.end()) found.push_back(*a);
        }
      }
    }
    uv_freeaddrinfo(res);
    ResolvedEndpoint::Update u =
        status == 0 ? e.endpoint->OnLookupSuccess(found) : e.endpoint->OnLookupFailure();
    e.on_result(u, status == 0 && found.empty() ? UV_EAI_NODATA : status);
    if (in_flight_ == 0) ScheduleNextRound();
    return;
  }
  uv_freeaddrinfo(res);
  if (in_flight_ == 0 && on_idle_) {
    auto cb = std::move(on_idle_);
    on_idle_ = nullptr;
    cb();
  }
}

void DnsRefresher::ScheduleNextRound() {
  if (closed_ || !timer_.open()) return;
  bool all_known = std::all_of(entries_.begin(), entries_.end(),
                               [](const Entry& e) { return e.endpoint->address() != nullptr; });
  Duration wait = all_known ? interval_ : retry_;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait);
  timer_.Again(std::max(ms, std::chrono::milliseconds(1)));
}

void DnsRefresher::Close(std::function<void()> on_idle) {
  if (!closed_) {
    closed_ = true;
    timer_.Close();
    for (Lookup* l : lookups_) uv_cancel(reinterpret_cast<uv_req_t*>(&l->req));
  }
  if (on_idle) {
    if (in_flight_ == 0) {
      on_idle();
    } else {
      on_idle_ = std::move(on_idle);
    }
  }
}

}  // namespace firewatch::agent
