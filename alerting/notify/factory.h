// Creates notifiers from parsed channel config.
#pragma once

#include <memory>
#include <vector>

#include "firewatch/clock.h"
#include "notify/channel_config.h"
#include "notify/notifier.h"

namespace firewatch::alerting::notify {

// One notifier for one channel. Never fails: ParseChannels already validated the config.
// `clock` must outlive the notifier.
std::unique_ptr<Notifier> MakeNotifier(const ChannelConfig& channel, const Clock& clock);

// One notifier per channel, in config order.
std::vector<std::unique_ptr<Notifier>> MakeNotifiers(const std::vector<ChannelConfig>& channels,
                                                     const Clock& clock);

}  // namespace firewatch::alerting::notify
