#include "watch/watch.h"

#include <spdlog/spdlog.h>

namespace firewatch::collector {

Result<std::unique_ptr<Watch>> Watch::Create(const Clock& clock, const WatchConfig& config,
                                             Tracker& tracker, prometheus::Registry& registry,
                                             OwnSourceFeed::TransitionSink sink,
                                             OwnSourceFeed::Executor executor) {
  auto credentials = LoadWatchdogTokens(config);
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<Watch> watch(new Watch(clock, config, tracker, registry, std::move(sink),
                                         std::move(executor), std::move(credentials).value()));
  if (config.alertmanager_post.enabled) {
    auto poster = AlertmanagerPoster::Create(clock, config, watch->metrics_);
    if (!poster.ok()) return poster.status();
    watch->poster_ = std::move(poster).value();
    watch->probes_.SetObserver([p = watch->poster_.get()](const std::string& probe, bool vouched) {
      p->ProbeFinished(probe, vouched);
    });
  }
  return watch;
}

Watch::Watch(const Clock& clock, const WatchConfig& config, Tracker& tracker,
             prometheus::Registry& registry, OwnSourceFeed::TransitionSink sink,
             OwnSourceFeed::Executor executor, std::vector<WatchdogCredential> credentials)
    : feed_(clock, tracker, std::move(sink), std::move(executor)),
      metrics_(registry, config),
      endpoint_(clock, config, std::move(credentials), feed_, metrics_),
      probes_(clock, config, feed_, metrics_) {
  for (const auto& w : config.watchdogs) {
    spdlog::info("watchdog {}: POST /api/v1/watchdog/{} every {} (source {})", w.name, w.name,
                 config::FormatDuration(w.interval), WatchdogSourceId(w.name));
  }
}

Watch::~Watch() {
  Stop();
}

void Watch::Register(HttpServer& server) {
  // Registered even without watchdogs: every name is then unknown (404, counted).
  endpoint_.Register(server);
}

void Watch::Observe(const alerting::Alert& alert) {
  if (poster_) poster_->Observe(alert);
}

void Watch::Start() {
  if (poster_) poster_->Start();
  probes_.Start();
}

void Watch::Stop() {
  probes_.Stop();
  if (poster_) poster_->Stop();
}

}  // namespace firewatch::collector
