// The one path every heartbeat frame takes, whatever carried it (UDP datagram or
// POST /api/v1/heartbeat): decode + authenticate, replay check, tracker update, and
// counting/logging of rejections. Never throws; any byte string is safe input.
//
// Thread-safety: Ingest() may be called concurrently (the loop thread for UDP, civetweb
// workers for HTTP). `on_transitions` is called on the calling thread, outside the
// tracker's lock, and must itself be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/log.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/protocol/keyring.h"
#include "tracker/source.h"

#include <sys/socket.h>

namespace firewatch::collector {

class Tracker;
class CollectorMetrics;

struct IngestResult {
  std::optional<protocol::RejectReason> rejected;  // nullopt = accepted
  std::string detail;                              // why, for logs and HTTP errors
  std::string source_id;                           // when known (accepted or replay)
};

class Ingestor {
 public:
  using TransitionSink = std::function<void(std::vector<Transition>)>;
  using CheckSink = std::function<void(std::vector<CheckChange>)>;

  Ingestor(const Clock& clock, std::shared_ptr<const protocol::Keyring> keys, Tracker& tracker,
           CollectorMetrics& metrics, TransitionSink on_transitions);

  // Processes one frame. `peer` (an address text) is used only in log messages.
  IngestResult Ingest(std::span<const uint8_t> frame, Transport transport,
                      std::string_view peer);
  // The same for a datagram: the sender's address is formatted only if a rejection is
  // logged, never on the accept path (hundreds of thousands of frames per second).
  IngestResult Ingest(std::span<const uint8_t> frame, Transport transport,
                      const sockaddr_storage& from);

  // Where check state changes go (optional; same threading rules as on_transitions).
  void SetCheckSink(CheckSink sink) { on_checks_ = std::move(sink); }

  // Swaps the keyring (config reload). Thread-safe.
  void SetKeys(std::shared_ptr<const protocol::Keyring> keys);

 private:
  // Where a frame came from, formatted on demand.
  struct Peer {
    std::string_view text;
    const sockaddr_storage* addr = nullptr;
  };
  IngestResult IngestFrom(std::span<const uint8_t> frame, Transport transport, const Peer& peer);
  std::shared_ptr<const protocol::Keyring> Keys() const;
  const Clock& clock_;
  mutable std::mutex keys_mu_;
  std::shared_ptr<const protocol::Keyring> keys_;
  Tracker& tracker_;
  CollectorMetrics& metrics_;
  TransitionSink on_transitions_;
  CheckSink on_checks_;
  RateLimiter log_limiter_;
};

}  // namespace firewatch::collector
