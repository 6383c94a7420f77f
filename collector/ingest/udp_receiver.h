// UDP heartbeat ingest on the libuv loop. We own the socket and read it with recvmmsg(2)
// in batches of kBatch datagrams into fixed slots just over one frame in size, driven by
// a uv_poll_t: libuv's own recvmmsg mode sizes every slot at 64 KiB, which would waste
// memory and cache for our 1200-byte frames.
//
// Threading: Bind, Close and the handler run on the loop thread only.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "firewatch/config/yaml_reader.h"
#include "firewatch/net/uv_handle.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/status.h"

namespace firewatch::collector {

class UdpReceiver {
 public:
  static constexpr size_t kBatch = 64;
  // One byte more than the largest frame, so oversize datagrams are seen as oversize.
  static constexpr size_t kSlotSize = protocol::kMaxFrameSize + 1;
  // Batches read per readiness event before yielding to other loop work.
  static constexpr int kMaxBatchesPerWakeup = 32;

  // One received datagram; `bytes` and `from` are valid only during the handler call.
  struct Datagram {
    std::span<const uint8_t> bytes;
    const sockaddr_storage* from;
  };
  // Called once per recvmmsg batch (1..kBatch datagrams), so the ingest path can take
  // its locks and read the clock once per batch rather than once per frame.
  using Handler = std::function<void(std::span<const Datagram> batch)>;

  UdpReceiver(uv_loop_t* loop, Handler handler);
  ~UdpReceiver();
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  // Binds to an IP literal (no DNS: "0.0.0.0", "::", "127.0.0.1"...); port 0 picks one.
  // Asks for a receive buffer of `rcvbuf_bytes`: it is what absorbs a burst while the
  // loop is busy elsewhere (a datagram that does not fit is lost). With CAP_NET_ADMIN
  // (root) the request is granted as is (SO_RCVBUFFORCE); without, the kernel caps it
  // at net.core.rmem_max. receive_buffer_bytes() says what was granted.
  Status Bind(const config::HostPort& listen, int rcvbuf_bytes = 64 << 20);
  // Stops reading and closes the socket; the loop can then close cleanly.
  void Close();
  uint16_t port() const { return port_; }
  // How much of the requested receive buffer the kernel granted (the request, or less
  // when capped). SO_RCVBUF reads back twice the grant, its bookkeeping overhead
  // included; this is that value halved, comparable with the request.
  int receive_buffer_bytes() const { return rcvbuf_ / 2; }

  uint64_t datagrams() const { return datagrams_; }
  uint64_t batches() const { return batches_; }
  // Datagrams the kernel dropped because our buffer was full: the socket's drop counter
  // (SO_MEMINFO, Linux >= 4.0), exact at any time. We do not ask for SO_RXQ_OVFL: its
  // control message costs the kernel work on every datagram (~4% of ingest CPU) to say
  // what SO_MEMINFO says on demand.
  uint64_t kernel_drops() const;

 private:
  void OnReadable(int status);
  void Drain();

  uv_loop_t* loop_;
  Handler handler_;
  int fd_ = -1;
  net::UvPoll poll_;
  uint16_t port_ = 0;
  int rcvbuf_ = 0;
  uint64_t datagrams_ = 0;
  uint64_t batches_ = 0;
  mutable uint64_t kernel_drops_ = 0;  // last SO_MEMINFO reading (see kernel_drops())
  std::vector<uint8_t> buffers_;
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<iovec, kBatch> iovs_{};
  std::array<sockaddr_storage, kBatch> addrs_{};
  std::array<Datagram, kBatch> received_{};
};

// "ip:port" text of a socket address, for logs.
std::string AddressText(const sockaddr_storage& addr);

}  // namespace firewatch::collector
