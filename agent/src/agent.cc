#include "agent.h"

#include <netdb.h>

#include <csignal>

#include "agent_log.h"
#include "version.h"

namespace firewatch::agent {

Agent::Agent(uv_loop_t* loop, AgentConfig config, protocol::Secret secret, Deps deps)
    : Agent(loop, std::move(config), std::move(secret), deps, Options{}) {}

Agent::Agent(uv_loop_t* loop, AgentConfig config, protocol::Secret secret, Deps deps,
             Options options)
    : loop_(loop),
      config_(std::move(config)),
      deps_(deps),
      options_(options),
      metrics_(std::string(AgentVersion()), config_.interval),
      log_limiter_(*deps.clock, options.log_every),
      builder_(config_, std::move(secret), protocol::NewBootId(), *deps.clock, *deps.checks),
      scheduler_(config_.interval, config_.jitter, *deps.random),
      dns_(loop, config_.resolve_interval, options.dns_retry),
      http_(loop, net::UvHttpClient::Options{64 * 1024,
                                              "firewatch-agent/" + std::string(AgentVersion())}) {
  for (const auto& cc : config_.collectors) {
    metrics_.AddCollector(cc.name, cc.udp.has_value(), cc.http.has_value());
    CollectorLink::Env env;
    env.loop = loop_;
    env.http = &http_;
    env.metrics = &metrics_;
    env.log_limiter = &log_limiter_;
    env.on_http_done = [this] { MaybeFinishGoodbye(); };
    links_.push_back(std::make_unique<CollectorLink>(cc, std::move(env)));
  }
}

Agent::~Agent() { CloseAll(); }

uint16_t Agent::http_port() const { return server_ ? server_->port() : 0; }

HealthSnapshot Agent::Health() const {
  return HealthSnapshot{config_.source_id, last_heartbeat_ms_, builder_.last_sequence(),
                        std::string(AgentVersion()), deps_.checks->StaleChecks()};
}

void Agent::WireDns(CollectorLink& link) {
  auto wire = [this, &link](ResolvedEndpoint* ep, Transport t, int socktype) {
    if (ep == nullptr) return;
    dns_.Add(ep, socktype, [this, &link, ep, t](ResolvedEndpoint::Update u, int status) {
      using U = ResolvedEndpoint::Update;
      const std::string target = ep->target().ToString();
      if (u == U::kChanged) {
        LogInfo("collector {}: {} {} resolves to {}", link.name(), TransportName(t), target,
                ep->address()->ToString());
      } else if (u == U::kKeptLastGood || u == U::kStillUnknown) {
        metrics_.CountResolveFailure(link.name());
        uint64_t suppressed = 0;
        if (log_limiter_.Allow(link.name() + "/dns/" + target, suppressed)) {
          std::string keep = u == U::kKeptLastGood
                                 ? "keeping the last good address " + ep->address()->ToString()
                                 : std::string("no address known yet");
          LogWarn("collector {}: cannot resolve {}: {}; {}{}", link.name(), target,
                  uv_strerror(status), keep,
                  suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed)
                             : std::string());
        }
      }
      link.OnEndpointUpdate(t, u);
    });
  };
  wire(link.udp_endpoint(), Transport::kUdp, SOCK_DGRAM);
  wire(link.http_endpoint(), Transport::kHttp, SOCK_STREAM);
}

Status Agent::Start() {
  if (phase_ != Phase::kIdle) return Status::InvalidArgument("agent already started");
  phase_ = Phase::kRunning;
  heartbeat_timer_.Init(loop_, [this] {
    if (phase_ != Phase::kRunning) return;
    SendHeartbeat();
    ArmHeartbeatTimer(scheduler_.Next(deps_.clock->Now()));
  });
  goodbye_timer_.Init(loop_, [this] { OnGoodbyeTimer(); });

  if (config_.http_listen) {
    auto addr = SocketAddress::FromLiteral(config_.http_listen->host, config_.http_listen->port);
    server_ = std::make_unique<LocalHttpServer>(loop_, [this](const HttpRequest& req) {
      return RouteLocalRequest(req, Health(), metrics_,
                               req.path == "/metrics" ? deps_.checks->RenderMetrics() : "");
    });
    Status s = addr ? server_->Listen(*addr)
                    : Status::InvalidArgument("http_listen is not an IP address");
    if (!s.ok()) {
      CloseAll();
      return s;
    }
    if (!addr->is_loopback()) {
      LogWarn("http_listen {} is not a loopback address: /metrics and /healthz are reachable "
              "from the network",
              addr->ToString());
    }
  }
  if (options_.handle_signals) StartSignals();
  for (auto& link : links_) {
    WireDns(*link);
    link->Open();
  }
  dns_.Start();
  std::string listen = "disabled";
  if (config_.http_listen) {
    config::HostPort bound = *config_.http_listen;
    bound.port = http_port();
    listen = bound.ToString();
  }
  LogInfo("started, version {}: source_id={} interval={} jitter={} collectors={} "
          "http_listen={}",
          AgentVersion(), config_.source_id, config::FormatDuration(config_.interval),
          config_.jitter, links_.size(), listen);
  scheduler_.Start(deps_.clock->Now());
  SendHeartbeat();
  ArmHeartbeatTimer(scheduler_.Next(deps_.clock->Now()));
  NotifySystemd();
  return Status::Ok();
}

void Agent::NotifySystemd() {
  // Type=notify units (deploy/systemd/): started once the first heartbeat is on its way;
  // WATCHDOG=1 from this loop from now on. Without $NOTIFY_SOCKET both do nothing.
  if (Status s = SdNotify("READY=1"); !s.ok()) LogWarn("{}", s.message());
  if (Status s = sd_watchdog_.Start(loop_); !s.ok()) LogWarn("watchdog: {}", s.message());
}

void Agent::StartSignals() {
  constexpr std::array<int, 3> signums = {SIGTERM, SIGINT, SIGHUP};
  static_assert(signums.size() == std::tuple_size_v<decltype(signals_)>);
  for (size_t i = 0; i < signums.size(); ++i) {
    signals_[i].Start(loop_, signums[i], [this](int s) {
      if (s == SIGHUP) {
        LogInfo("SIGHUP: configuration reload is not supported yet; ignoring");
        return;
      }
      Shutdown(s == SIGTERM ? "SIGTERM" : "SIGINT");
    });
  }
}

void Agent::SendHeartbeat() {
  auto frame = builder_.NextHeartbeat();
  if (!frame.ok()) {
    LogError("cannot encode heartbeat: {}", frame.status().message());
    return;
  }
  last_heartbeat_ms_ = frame->timestamp_ms;
  metrics_.SetLastHeartbeat(FromUnixMillis(frame->timestamp_ms));
  auto shared = std::make_shared<const OutgoingFrame>(std::move(frame).value());
  LogDebug("heartbeat {} ({} bytes)", shared->sequence, shared->bytes.size());
  for (auto& link : links_) link->Send(shared, options_.http_timeout);
}

void Agent::ArmHeartbeatTimer(MonoTime deadline) {
  // uv timers count from the loop's cached time; refresh it so a slow callback does not
  // make the timer fire early.
  uv_update_time(loop_);
  heartbeat_timer_.Again(CeilMillis(deadline - deps_.clock->Now()));
}

void Agent::Shutdown(const std::string& reason) {
  if (phase_ == Phase::kGoodbye) {
    LogInfo("{} again: closing now", reason);
    CloseAll();
    return;
  }
  if (phase_ != Phase::kRunning) return;
  phase_ = Phase::kGoodbye;
  (void)SdNotify("STOPPING=1");
  heartbeat_timer_.Stop();
  dns_.Close();
  auto frame = builder_.Goodbye(reason);
  if (!frame.ok()) {
    LogError("cannot encode goodbye: {}", frame.status().message());
    CloseAll();
    return;
  }
  LogInfo("{}: sending goodbye (sequence {}) to {} collector(s)", reason, frame->sequence,
          links_.size());
  auto shared = std::make_shared<const OutgoingFrame>(std::move(frame).value());
  for (auto& link : links_) link->Send(shared, options_.goodbye_timeout);
  goodbye_timer_.Again(CeilMillis(options_.goodbye_grace));
}

void Agent::OnGoodbyeTimer() {
  if (phase_ != Phase::kGoodbye) return;
  if (!goodbye_grace_over_) {
    goodbye_grace_over_ = true;
    if (http_.in_flight() == 0) {
      CloseAll();
      return;
    }
    // Wait for the HTTP goodbyes, but never past the bound.
    goodbye_timer_.Again(CeilMillis(options_.goodbye_timeout - options_.goodbye_grace));
    return;
  }
  LogWarn("goodbye: {} HTTP request(s) unfinished after {}; closing anyway", http_.in_flight(),
          config::FormatDuration(options_.goodbye_timeout));
  CloseAll();
}

void Agent::MaybeFinishGoodbye() {
  if (phase_ == Phase::kGoodbye && goodbye_grace_over_ && http_.in_flight() == 0) CloseAll();
}

void Agent::CloseAll() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  sd_watchdog_.Close();
  deps_.checks->Close();  // kills running plugins; their timers stop keeping the loop
  http_.Close();  // cancels in-flight requests; their callbacks run now
  for (auto& link : links_) link->Close();
  if (server_) server_->Close();
  for (auto& sig : signals_) sig.Close();
  heartbeat_timer_.Close();
  goodbye_timer_.Close();
  dns_.Close([this] {
    lookups_done_ = true;
    dns_watchdog_.Close();
  });
  if (!lookups_done_) {
    // A lookup is stuck in the resolver (DNS may be gone with its datacenter). Give it
    // a moment, then stop the loop rather than hang the shutdown.
    dns_watchdog_.Start(loop_, CeilMillis(options_.dns_abandon), {}, [this] {
      LogWarn("a DNS lookup did not finish within {}; exiting without it",
              config::FormatDuration(options_.dns_abandon));
      abandoned_lookups_ = true;
      uv_stop(loop_);
    });
  }
}

}  // namespace firewatch::agent
