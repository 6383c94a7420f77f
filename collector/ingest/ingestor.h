// The one path every heartbeat frame takes, whatever carried it (UDP datagram or
// POST /api/v1/heartbeat): decode + authenticate, the key's binding to source ids
// (key_not_allowed, key_bindings.h), then the tracker (interval bounds, replay, source
// limits) and counting/logging of rejections. Never throws; any byte string is safe
// input.
//
// Thread-safety: Ingest() may be called concurrently (the loop thread for UDP, civetweb
// workers for HTTP). `on_transitions` is called on the calling thread, outside the
// tracker's lock, and must itself be thread-safe.
#pragma once

#include <atomic>
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
#include "firewatch/sync/mutex.h"
#include "ingest/key_bindings.h"
#include "ingest/udp_receiver.h"
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

  // `bindings` null = every key speaks for every source. `clock` paces the rejection
  // log's rate limiter (the tracker reads its own clock for everything else).
  Ingestor(const Clock& clock, std::shared_ptr<const protocol::Keyring> keys, Tracker& tracker,
           CollectorMetrics& metrics, TransitionSink on_transitions,
           std::shared_ptr<const KeyBindings> bindings = nullptr);

  // Processes one frame (POST /api/v1/heartbeat). `peer` (an address text) is used
  // only in log messages.
  IngestResult Ingest(std::span<const uint8_t> frame, Transport transport,
                      std::string_view peer);

  // Processes one recvmmsg batch of datagrams (UDP): decodes and authenticates each,
  // then applies the accepted ones to the tracker under one lock and one clock reading,
  // and reports transitions and check changes once for the batch. Rejections are
  // counted and logged exactly as by Ingest(). Meant for one thread (the loop's); the
  // scratch it reuses is per thread.
  void IngestDatagrams(std::span<const UdpReceiver::Datagram> batch);

  // Where check state changes go (optional; same threading rules as on_transitions).
  void SetCheckSink(CheckSink sink) { on_checks_ = std::move(sink); }

  // Swaps the keyring and the key bindings together (config reload; null bindings =
  // none). Thread-safe. Frames being decoded on other threads finish with the pair they
  // started with: every pair ever installed is kept until the Ingestor is destroyed (a
  // reload adds one, the size of the key section), so the per-frame path reads the
  // current one with a single atomic load, no lock.
  void SetKeys(std::shared_ptr<const protocol::Keyring> keys,
               std::shared_ptr<const KeyBindings> bindings = nullptr) FW_EXCLUDES(keys_mu_);

 private:
  // Where a frame came from; a datagram's address is formatted only if a rejection is
  // logged, never on the accept path.
  struct Peer {
    std::string_view text;
    const sockaddr_storage* addr = nullptr;
  };
  IngestResult IngestFrom(std::span<const uint8_t> frame, Transport transport, const Peer& peer);
  // Counts and logs (rate-limited) one rejected frame.
  void Reject(protocol::RejectReason reason, const std::string& detail, Transport transport,
              const Peer& peer);
  // What a tracker refusal logs and answers: the source and what was wrong with it.
  static std::string TrackerDetail(protocol::RejectReason reason, const protocol::HeartbeatView& hb);
  // One keyring and its bindings, installed and read as one.
  struct Credentials {
    std::shared_ptr<const protocol::Keyring> keys;
    std::shared_ptr<const KeyBindings> bindings;  // may be null
  };
  // Decodes `frame` into `hb` (up to the transport's size limit) and checks its key's
  // binding; the reason on failure.
  static std::optional<protocol::DecodeError> Admit(std::span<const uint8_t> frame,
                                                    const Credentials& creds,
                                                    protocol::HeartbeatView& hb,
                                                    Transport transport);
  // Sends what the tracker reported to the sinks.
  void Deliver(std::vector<Transition> transitions, std::vector<CheckChange> checks);
  Mutex keys_mu_;  // writers only; readers load creds_
  std::vector<std::unique_ptr<const Credentials>> retired_ FW_GUARDED_BY(keys_mu_);
  std::atomic<const Credentials*> creds_;
  Tracker& tracker_;
  CollectorMetrics& metrics_;
  TransitionSink on_transitions_;
  CheckSink on_checks_;
  RateLimiter log_limiter_;
};

}  // namespace firewatch::collector
