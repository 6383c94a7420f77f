// One question every muting stage answers, as in Alertmanager: "is an alert with these
// labels muted right now?". The Inhibitor and the Silencer implement it; the Dispatcher
// asks each Muter it was given before it notifies, so a muted alert is left out of (and
// does not trigger) group notifications.
#pragma once

#include "firewatch/clock.h"
#include "model/alert.h"

namespace firewatch::alerting::route {

class Muter {
 public:
  virtual ~Muter() = default;
  // True when an alert with `labels` must not be notified at wall time `now`.
  // Wall time, because silences are written and replicated in wall time.
  virtual bool Mutes(const LabelSet& labels, WallTime now) const = 0;
};

}  // namespace firewatch::alerting::route
