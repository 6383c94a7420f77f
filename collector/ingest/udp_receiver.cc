#include "ingest/udp_receiver.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace firewatch::collector {

std::string AddressText(const sockaddr_storage& addr) {
  char ip[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    port = ntohs(a->sin6_port);
    return "[" + std::string(ip) + "]:" + std::to_string(port);
  }
  return "?";
}

UdpReceiver::UdpReceiver(uv_loop_t* loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)), buffers_(kBatch * kSlotSize) {}

UdpReceiver::~UdpReceiver() { Close(); }

Status UdpReceiver::Bind(const config::HostPort& listen, int rcvbuf_bytes) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, listen.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(listen.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, listen.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(listen.port);
    len = sizeof(sockaddr_in6);
  } else {
    return Status::InvalidArgument("UDP listen address must be an IP literal, got '" +
                                   listen.host + "'");
  }
  fd_ = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof rcvbuf_bytes) != 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);  // capped
  }
  socklen_t rlen = sizeof rcvbuf_;
  getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_, &rlen);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    return Status::Unavailable("cannot bind UDP " + listen.ToString() + ": " + std::strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  int rc = poll_.Init(loop_, fd_, [this](int status, int) { OnReadable(status); });
  if (rc == 0) rc = poll_.Start(UV_READABLE);
  if (rc != 0) {
    poll_.Close();
    ::close(fd_);
    fd_ = -1;
    return Status::IoError(std::string("uv_poll: ") + uv_strerror(rc));
  }
  return Status::Ok();
}

void UdpReceiver::Close() {
  poll_.Close();  // before the descriptor it watches
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void UdpReceiver::OnReadable(int status) {
  if (status < 0) {
    spdlog::warn("UDP poll error: {}", uv_strerror(status));
    return;
  }
  Drain();
}

void UdpReceiver::Drain() {
  for (int round = 0; round < kMaxBatchesPerWakeup && fd_ >= 0; ++round) {
    for (size_t i = 0; i < kBatch; ++i) {
      iovs_[i].iov_base = buffers_.data() + i * kSlotSize;
      iovs_[i].iov_len = kSlotSize;
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &addrs_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs_[i].msg_hdr.msg_control = nullptr;  // drops come from SO_MEMINFO, not cmsgs
      msgs_[i].msg_hdr.msg_controllen = 0;
      msgs_[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(fd_, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        spdlog::warn("recvmmsg: {}", std::strerror(errno));
      }
      return;
    }
    ++batches_;
    for (int i = 0; i < n; ++i) {
      received_[i] = Datagram{
          std::span<const uint8_t>(buffers_.data() + i * kSlotSize, msgs_[i].msg_len), &addrs_[i]};
    }
    datagrams_ += static_cast<uint64_t>(n);
    if (n > 0) handler_(std::span<const Datagram>(received_.data(), static_cast<size_t>(n)));
    if (static_cast<size_t>(n) < kBatch) return;
  }
}

uint64_t UdpReceiver::kernel_drops() const {
  if (fd_ >= 0) {
    uint32_t meminfo[SK_MEMINFO_VARS] = {};
    socklen_t len = sizeof meminfo;
    if (getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, meminfo, &len) == 0 &&
        len > SK_MEMINFO_DROPS * sizeof(uint32_t)) {
      // A running total; kept so the counter never goes back (e.g. after Close()).
      kernel_drops_ = std::max<uint64_t>(kernel_drops_, meminfo[SK_MEMINFO_DROPS]);
    }
  }
  return kernel_drops_;
}

}  // namespace firewatch::collector
