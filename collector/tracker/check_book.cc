#include "tracker/check_book.h"

#include <algorithm>
#include <limits>

#include "firewatch/text/fnv.h"
#include "firewatch/text/utf8.h"

namespace firewatch::collector {

using protocol::CheckState;

namespace {

const CheckAlertRule kDefaultRule{};

// Severity order for picking the state a flapping check alerts with.
int Rank(CheckState s) {
  switch (s) {
    case CheckState::kOk: return 0;
    case CheckState::kUnknown: return 1;
    case CheckState::kWarning: return 2;
    case CheckState::kCritical: return 3;
  }
  return 0;
}

bool Matches(const CheckAlertRule& rule, std::string_view check, const protocol::Labels& labels) {
  if (!rule.check.empty() && rule.check != check) return false;
  for (const auto& want : rule.labels) {
    auto it = std::find_if(labels.begin(), labels.end(),
                           [&want](const auto& l) { return l.first == want.first; });
    if (it == labels.end() || it->second != want.second) return false;
  }
  return true;
}

bool NeedsRule(const CheckAlertPolicy& policy) { return !policy.rules.empty(); }

// glibc malloc's chunk for a request of `n` bytes (8-byte header, 16-byte alignment).
size_t Chunk(size_t n) { return std::max<size_t>(32, (n + 8 + 15) / 16 * 16); }

size_t HeapBytes(const std::string& s) {
  return s.capacity() > 15 ? Chunk(s.capacity() + 1) : 0;  // libstdc++ keeps 15 inline
}

}  // namespace

const CheckAlertRule& CheckAlertPolicy::For(std::string_view check,
                                            const protocol::Labels& labels) const {
  for (const auto& r : rules) {
    if (Matches(r, check, labels)) return r;
  }
  return kDefaultRule;
}

CheckBookUpdate::CheckBookUpdate(const CheckAlertPolicy& policy, std::string_view source_id,
                                 std::function<protocol::Labels()> labels, int64_t now_ms,
                                 std::vector<CheckChange>& out)
    : policy_(policy), source_id_(source_id), labels_fn_(std::move(labels)), now_ms_(now_ms),
      out_(out) {}

const protocol::Labels& CheckBookUpdate::Labels() {
  if (!have_labels_) {
    labels_ = labels_fn_();
    have_labels_ = true;
  }
  return labels_;
}

void CheckBookUpdate::Apply(CheckBook& book, std::span<const protocol::CheckView> checks) {
  for (auto& r : book) r.reported = false;
  size_t output_left = kMaxBookOutputBytes;
  for (size_t i = 0; i < checks.size(); ++i) {
    const protocol::CheckView& c = checks[i];
    CheckRecord* r = nullptr;
    if (i < book.size() && book[i].name == c.name) {
      r = &book[i];  // the usual case: the agent sends its checks in the same order
    } else {
      for (auto& b : book) {
        if (b.name == c.name) r = &b;
      }
    }
    if (r != nullptr && r->reported) continue;  // a name twice in one frame: the first counts
    if (r == nullptr) {
      if (book.size() >= kMaxBookChecks) {
        // Make room from a check gone quiet whose alert is resolved; else do not track it.
        auto gone = std::find_if(book.begin(), book.end(), [](const CheckRecord& b) {
          return !b.reported && b.alerted == CheckState::kOk && !b.flapping;
        });
        if (gone == book.end()) continue;
        book.erase(gone);
      }
      CheckRecord& fresh = book.emplace_back();
      fresh.name = std::string(c.name);
      fresh.since_ms = now_ms_;  // a new check counts as having been OK (today's rule)
      fresh.changed_ms = now_ms_;
      r = &fresh;
    }
    r->reported = true;
    const std::string_view output = text::Utf8Prefix(c.output, output_left);
    if (output.size() < c.output.size()) ++cut_;
    output_left -= output.size();
    Report(*r, c.state, output);
  }
  // A check the agent no longer reports is OK (docs/agent.md, "In heartbeats").
  for (auto& r : book) {
    if (!r.reported) Report(r, CheckState::kOk, "");
  }
}

void CheckBookUpdate::Report(CheckRecord& r, CheckState state, std::string_view output) {
  const bool changed = state != r.state;
  if (changed) {
    r.history.push_back(
        CheckStateChange{r.state, state, now_ms_, std::string(text::Utf8Prefix(output, kMaxHistoryOutput))});
    const size_t cap = std::clamp<uint32_t>(policy_.history, 1, kMaxCheckHistory);
    if (r.history.size() > cap) r.history.erase(r.history.begin(), r.history.end() - cap);
    r.state = state;
    r.since_ms = now_ms_;
    r.consecutive = 1;
  } else if (r.consecutive < std::numeric_limits<uint32_t>::max()) {
    ++r.consecutive;
  }
  if (changed || output != r.output) {
    r.output = std::string(output);
    r.changed_ms = now_ms_;
  }
  // Steady (reported == alerted, not flapping, no change): no rule to look up.
  if (changed || r.state != r.alerted || r.flapping) Decide(r, changed);
}

void CheckBookUpdate::Decide(CheckRecord& r, bool changed) {
  const CheckAlertRule& rule =
      NeedsRule(policy_) ? policy_.For(r.name, Labels()) : kDefaultRule;
  CheckState target = r.alerted;
  bool entering = false;
  if (rule.flap_changes > 0) {
    const int64_t from_ms = now_ms_ - rule.flap_window_ms;
    size_t recent = 0;
    CheckState worst = r.state;
    for (const auto& h : r.history) {
      if (h.at_ms <= from_ms) continue;
      ++recent;
      if (Rank(h.from) > Rank(worst)) worst = h.from;
      if (Rank(h.to) > Rank(worst)) worst = h.to;
    }
    if (!r.flapping && changed && recent >= rule.flap_changes) {
      r.flapping = entering = true;
      if (r.alerted == CheckState::kOk) target = worst;  // one alert for the whole flapping
    } else if (r.flapping && recent == 0) {
      r.flapping = false;  // a whole window without a change
    }
  } else {
    r.flapping = false;  // the rule changed (reload)
  }
  if (!r.flapping) {
    if (r.state == CheckState::kOk || r.consecutive >= rule.consecutive) target = r.state;
  }
  if (target == r.alerted) return;
  CheckChange c{std::string(source_id_), Labels(), r.name, r.alerted, target, r.output, now_ms_};
  c.flapping = entering;
  r.alerted = target;
  out_.push_back(std::move(c));
}

std::shared_ptr<CheckBook> RestoredBook(const std::vector<protocol::CheckResult>& checks) {
  if (checks.empty()) return nullptr;
  auto book = std::make_shared<CheckBook>();
  book->reserve(checks.size());
  for (const auto& c : checks) {
    CheckRecord& r = book->emplace_back();
    r.name = c.name;
    r.state = r.alerted = c.state;
    r.output = c.output;
    r.consecutive = std::numeric_limits<uint32_t>::max();  // its alert was decided before
    r.reported = true;
  }
  return book;
}

size_t ApproxBytes(const CheckBook& book) {
  size_t bytes = book.capacity() > 0 ? Chunk(book.capacity() * sizeof(CheckRecord)) : 0;
  for (const CheckRecord& r : book) {
    bytes += HeapBytes(r.name) + HeapBytes(r.output);
    if (r.history.capacity() > 0) bytes += Chunk(r.history.capacity() * sizeof(CheckStateChange));
    for (const CheckStateChange& h : r.history) bytes += HeapBytes(h.output);
  }
  return bytes;
}

bool StillDeciding(const CheckBook& book) {
  return std::any_of(book.begin(), book.end(), [](const CheckRecord& r) {
    return r.flapping || (r.reported && r.alerted != r.state);
  });
}

std::vector<protocol::CheckResult> ReportedChecks(const CheckBook& book) {
  std::vector<protocol::CheckResult> out;
  for (const auto& r : book) {
    if (r.reported) out.push_back(protocol::CheckResult{r.name, r.state, r.output});
  }
  return out;
}

uint64_t ReportedDigest(const CheckBook& book) {
  // Each reported record's name, state and output; after each text a separator no
  // byte can be, and the state as a tag out of a byte's range too.
  uint64_t h = text::kFnv1a64Basis;
  for (const auto& r : book) {
    if (!r.reported) continue;
    h = text::Fnv1a64Mix(text::Fnv1a64(r.name, h), 0x100);
    h = text::Fnv1a64Mix(h, 0x200 + static_cast<unsigned>(r.state));
    h = text::Fnv1a64Mix(text::Fnv1a64(r.output, h), 0x100);
  }
  return h;
}

std::vector<protocol::CheckResult> AlertedChecks(const SourceSnapshot& s) {
  if (!s.check_book) return s.checks;
  std::vector<protocol::CheckResult> out;
  for (const auto& r : *s.check_book) {
    out.push_back(protocol::CheckResult{r.name, r.alerted, r.output});
  }
  return out;
}

}  // namespace firewatch::collector
