#include "watch/probe_runner.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "firewatch/http_client.h"

namespace firewatch::collector {

namespace {

constexpr size_t kMaxProbeBody = 64 * 1024;  // enough for any health endpoint's answer

struct Transfer {
  std::string body;
  const std::atomic<bool>* stop = nullptr;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  const size_t room = kMaxProbeBody - std::min(kMaxProbeBody, t->body.size());
  t->body.append(data, std::min(bytes, room));
  return bytes;  // the rest is read and dropped
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->stop->load() ? 1 : 0;  // non-zero aborts
}

std::string Millis(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

ProbeOutcome RunProbe(const ProbeConfig& probe, const std::atomic<bool>& stop) {
  http_client::EnsureCurlInitialized();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return {false, "curl_easy_init failed"};
  http_client::TransportOptions transport;
  transport.timeout = probe.timeout;
  transport.connect_timeout = probe.timeout;
  http_client::ApplyTransport(curl, transport);
  Transfer t;
  t.stop = &stop;
  const std::string url =
      probe.kind == ProbeKind::kHttp
          ? probe.url
          : "http://" +
                (probe.address.host.find(':') != std::string::npos ? "[" + probe.address.host + "]"
                                                                   : probe.address.host) +
                ":" + std::to_string(probe.address.port) + "/";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  if (probe.kind == ProbeKind::kTcp) {
    curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "firewatch-probe");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  }
  const auto started = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(curl);
  const Duration took = std::chrono::steady_clock::now() - started;
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return {false, std::string(probe.kind == ProbeKind::kTcp ? "connect: " : "") +
                       curl_easy_strerror(rc) + " after " + Millis(took)};
  }
  if (probe.kind == ProbeKind::kTcp) return {true, "connected in " + Millis(took)};
  if (status != probe.expect_status) {
    return {false, "HTTP " + std::to_string(status) + ", expected " +
                       std::to_string(probe.expect_status) + " (" + Millis(took) + ")"};
  }
  if (!probe.expect_body.empty() && t.body.find(probe.expect_body) == std::string::npos) {
    return {false, "HTTP " + std::to_string(status) + " but the body does not contain '" +
                       probe.expect_body.substr(0, 100) + "'"};
  }
  return {true, "HTTP " + std::to_string(status) + " in " + Millis(took)};
}

ProbeRunner::ProbeRunner(const Clock& clock, const WatchConfig& config, OwnSourceFeed& feed,
                         WatchMetrics& metrics, Prober prober, size_t threads)
    : clock_(clock),
      feed_(feed),
      metrics_(metrics),
      prober_(std::move(prober)),
      threads_(std::max<size_t>(1, std::min(threads, config.probes.size()))),
      probes_(config.probes.size()),
      schedule_(config.probes, clock.Now()),
      last_ok_(config.probes.size(), 0),
      reported_(config.probes.size(), 0),
      log_limiter_(clock, std::chrono::seconds(10)) {}

ProbeRunner::~ProbeRunner() {
  Stop();
}

void ProbeRunner::Start() {
  if (probes_ == 0 || !workers_.empty()) return;
  for (size_t i = 0; i < threads_; ++i) workers_.emplace_back([this] { Work(); });
  spdlog::info("probes: {} probe(s) on {} thread(s)", probes_, threads_);
}

void ProbeRunner::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void ProbeRunner::Work() {
  MutexLock lock(mu_);
  while (!stop_) {
    std::vector<size_t> due = schedule_.TakeDue(clock_.Now(), 1);
    if (due.empty()) {
      // Wait for the next due time; at most 250 ms, so a fake clock in tests moves us on.
      Duration wait = std::chrono::milliseconds(250);
      if (auto next = schedule_.NextDue())
        wait = std::clamp<Duration>(*next - clock_.Now(), Duration::zero(), wait);
      cv_.WaitFor(mu_, wait, [this] { return stop_.load(); });
      continue;
    }
    const size_t i = due.front();
    const ProbeConfig& probe = schedule_.probe(i);  // never changes: safe unlocked
    lock.Unlock();
    const ProbeOutcome outcome = prober_(probe, stop_);
    lock.Lock();
    const bool heartbeat = schedule_.Finished(i, outcome.ok, clock_.Now());
    const bool changed = !reported_[i] || (last_ok_[i] != 0) != outcome.ok;
    const uint32_t failures = schedule_.failures(i);
    reported_[i] = 1;
    last_ok_[i] = outcome.ok ? 1 : 0;
    lock.Unlock();
    metrics_.ProbeRun(probe.name, outcome.ok);
    if (changed && outcome.ok) {
      spdlog::info("probe {} ({}): ok, {}", probe.name, probe.Target(), outcome.detail);
    } else if (changed) {
      spdlog::warn(
          "probe {} ({}) failed: {} ({} of {} failures before it stops counting as "
          "alive)",
          probe.name, probe.Target(), outcome.detail, failures, probe.failures_before_down);
    }
    if (observer_) observer_(probe.name, heartbeat);
    if (heartbeat && !stop_) {
      if (auto refused = feed_.Heard(ProbeSourceId(probe.name), probe.interval, probe.labels)) {
        uint64_t suppressed = 0;
        if (log_limiter_.Allow(probe.name, suppressed)) {
          spdlog::warn("probe {}: source {} not heard: {} ({} similar suppressed)", probe.name,
                       ProbeSourceId(probe.name), *refused, suppressed);
        }
      }
    }
    lock.Lock();
  }
}

}  // namespace firewatch::collector
