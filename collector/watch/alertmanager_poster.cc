#include "watch/alertmanager_poster.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstddef>

#include "firewatch/secret_file.h"

namespace firewatch::collector {

namespace {
// After a failed round: soon, but not in a loop against a broken Alertmanager.
constexpr Duration kRetryAfter = std::chrono::seconds(10);
// The longest the thread sleeps before looking again (so a fake clock moves it on).
constexpr Duration kMaxWait = std::chrono::milliseconds(250);
}  // namespace

Result<std::unique_ptr<AlertmanagerPoster>> AlertmanagerPoster::Create(const Clock& clock,
                                                                       const WatchConfig& config,
                                                                       WatchMetrics& metrics,
                                                                       Sender sender) {
  const AlertmanagerPostConfig& c = config.alertmanager_post;
  std::string token;
  if (!c.bearer_token_file.empty()) {
    auto text = ReadSecretFile(c.bearer_token_file, "alertmanager_post bearer token");
    if (!text.ok()) return text.status();
    token = *text;
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos) {
      return Status::InvalidArgument("alertmanager_post bearer token file " + c.bearer_token_file +
                                     ": expected one token without spaces");
    }
  }
  Duration probe_interval{}, probe_timeout{};
  for (const auto& p : config.probes) {
    if (p.name == c.health_probe) {
      probe_interval = p.interval;
      probe_timeout = p.timeout;
    }
  }
  return std::unique_ptr<AlertmanagerPoster>(new AlertmanagerPoster(
      clock, c, probe_interval, probe_timeout, std::move(token), metrics, std::move(sender)));
}

AlertmanagerPoster::AlertmanagerPoster(const Clock& clock, const AlertmanagerPostConfig& config,
                                       Duration probe_interval, Duration probe_timeout,
                                       std::string bearer_token, WatchMetrics& metrics,
                                       Sender sender)
    : clock_(clock),
      config_(config),
      bearer_token_(std::move(bearer_token)),
      metrics_(metrics),
      sender_(std::move(sender)),
      mirror_(config.resend_interval),
      health_(probe_interval, probe_timeout),
      next_round_(clock.Now()),
      last_result_(config.urls.size()) {
  MutexLock lock(mu_);
  metrics_.AlertmanagerHealthy(health_.Healthy(clock_.Now()));
}

AlertmanagerPoster::~AlertmanagerPoster() {
  Stop();
}

void AlertmanagerPoster::Observe(const alerting::Alert& alert) {
  bool refused = false;
  {
    MutexLock lock(mu_);
    refused = !mirror_.Observe(alert, ToUnixMillis(clock_.WallNow()));
  }
  if (refused) {
    metrics_.AlertmanagerAlertRefused();
  } else {
    cv_.NotifyAll();
  }
}

void AlertmanagerPoster::ProbeFinished(const std::string& probe, bool vouched) {
  if (probe != config_.health_probe) return;
  {
    MutexLock lock(mu_);
    health_.Record(vouched, clock_.Now());
  }
  cv_.NotifyAll();
}

void AlertmanagerPoster::Start() {
  if (worker_.joinable()) return;
  worker_ = std::thread([this] { Work(); });
  std::string urls;
  for (const auto& u : config_.urls) urls += (urls.empty() ? "" : ", ") + u;
  spdlog::info("alertmanager_post: mirroring alerts to {} every {} ({}), paging directly as well",
               urls, config::FormatDuration(config_.resend_interval),
               config_.health_probe.empty() ? "no health probe"
                                            : "while probe " + config_.health_probe + " vouches");
}

void AlertmanagerPoster::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (worker_.joinable()) worker_.join();
}

void AlertmanagerPoster::Work() {
  MutexLock lock(mu_);
  bool was_healthy = health_.Healthy(clock_.Now());
  while (!stop_) {
    const MonoTime now = clock_.Now();
    const bool healthy = health_.Healthy(now);
    if (healthy != was_healthy) {
      metrics_.AlertmanagerHealthy(healthy);
      if (healthy) {
        spdlog::info("alertmanager_post: probe {} vouches for Alertmanager; posting",
                     config_.health_probe);
      } else {
        spdlog::warn("alertmanager_post: probe {} does not vouch for Alertmanager; not posting "
                     "until it does (pages go out directly as always)",
                     config_.health_probe);
      }
      was_healthy = healthy;
    }
    const bool due = mirror_.changed() || now >= next_round_ || (held_ && healthy);
    if (!due) {
      const Duration wait = std::clamp<Duration>(next_round_ - now, Duration::zero(), kMaxWait);
      cv_.WaitFor(mu_, wait, [this] {
        mu_.AssertHeld();  // run by WaitFor with the lock held
        return stop_.load() || mirror_.changed();
      });
      continue;
    }
    next_round_ = now + config_.resend_interval;
    std::vector<alerting::Alert> batch = mirror_.TakeBatch(ToUnixMillis(clock_.WallNow()));
    if (batch.empty()) {
      held_ = false;
      continue;
    }
    if (!healthy) {
      held_ = true;
      for (const auto& url : config_.urls) {
        metrics_.AlertmanagerPost(url, AlertmanagerPostResult::kUnhealthy);
      }
      continue;
    }
    held_ = false;
    std::vector<std::string> chunks;
    for (size_t i = 0; i < batch.size(); i += kMaxAlertsPerPost) {
      const auto first = batch.begin() + static_cast<std::ptrdiff_t>(i);
      const auto last = batch.begin() + static_cast<std::ptrdiff_t>(std::min(batch.size(), i + kMaxAlertsPerPost));
      chunks.push_back(PostableAlertsJson(std::vector<alerting::Alert>(first, last)));
    }
    lock.Unlock();
    bool failed = false;
    for (size_t u = 0; u < config_.urls.size() && !stop_; ++u) PostTo(u, chunks, failed);
    lock.Lock();
    // The retry counts from the round's start, the clock read before the posts: read after
    // them, a clock that moved during the posts (a slow Alertmanager; a test's fake clock
    // advanced as soon as the failure is counted) would push the retry a whole period out.
    if (failed) next_round_ = std::min(next_round_, now + std::min(config_.resend_interval, kRetryAfter));
  }
}

void AlertmanagerPoster::PostTo(size_t url_index, const std::vector<std::string>& body_chunks,
                                bool& failed) {
  const std::string& url = config_.urls[url_index];
  http_client::TransportOptions transport;
  transport.timeout = config_.timeout;
  transport.connect_timeout = config_.timeout;
  transport.ca_file = config_.ca_file;
  for (const auto& body : body_chunks) {
    http_client::Request req;
    req.method = "POST";
    req.url = url + "/api/v2/alerts";
    req.headers = {{"Content-Type", "application/json"}};
    if (!bearer_token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + bearer_token_);
    req.body = body;
    req.max_response_body = 4096;
    const http_client::Response r = sender_(req, transport);
    AlertmanagerPostResult result = AlertmanagerPostResult::kError;
    if (r.transport_ok && r.status >= 200 && r.status <= 299) {
      result = AlertmanagerPostResult::kOk;
    } else if (r.transport_ok && r.status >= 400 && r.status <= 499) {
      result = AlertmanagerPostResult::kRejected;
    }
    metrics_.AlertmanagerPost(url, result);
    const std::string name(AlertmanagerPostResultName(result));
    if (name != last_result_[url_index]) {
      if (result == AlertmanagerPostResult::kOk) {
        spdlog::info("alertmanager_post: {} accepts alerts", url);
      } else {
        spdlog::warn("alertmanager_post: posting to {} failed ({}): {}", url, name,
                     http_client::Detail(r));
      }
      last_result_[url_index] = name;
    }
    if (result != AlertmanagerPostResult::kOk) {
      failed = true;
      return;  // the rest of this round waits for the retry
    }
  }
}

}  // namespace firewatch::collector
