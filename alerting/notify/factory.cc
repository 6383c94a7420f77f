#include "notify/factory.h"

namespace firewatch::alerting::notify {

namespace {
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;
}  // namespace

std::unique_ptr<Notifier> MakeNotifier(const ChannelConfig& channel, const Clock& clock) {
  const std::string& name = channel.name;
  return std::visit(
      Overloaded{
          [&](const SmtpConfig& c) -> std::unique_ptr<Notifier> {
            return std::make_unique<SmtpNotifier>(name, c, clock);
          },
          [&](const TwilioConfig& c) -> std::unique_ptr<Notifier> {
            return std::make_unique<TwilioNotifier>(name, c);
          },
          [&](const HttpSmsConfig& c) -> std::unique_ptr<Notifier> {
            return std::make_unique<HttpSmsNotifier>(name, c);
          },
          [&](const WebhookConfig& c) -> std::unique_ptr<Notifier> {
            return std::make_unique<WebhookNotifier>(name, c);
          },
          [&](const PagerDutyConfig& c) -> std::unique_ptr<Notifier> {
            return std::make_unique<PagerDutyNotifier>(name, c, clock);
          },
      },
      channel.settings);
}

std::vector<std::unique_ptr<Notifier>> MakeNotifiers(const std::vector<ChannelConfig>& channels,
                                                     const Clock& clock) {
  std::vector<std::unique_ptr<Notifier>> out;
  out.reserve(channels.size());
  for (const auto& c : channels) out.push_back(MakeNotifier(c, clock));
  return out;
}

}  // namespace firewatch::alerting::notify
