#include "udp_sender.h"

#include "firewatch/net/uv_handle.h"

namespace firewatch::agent {

// The socket; outlives the sender until its close callback (net::UvHandleOwner).
struct UdpSender::Handle : net::UvHandleOwner<Handle> {
  uv_udp_t udp{};
  UdpSender* owner = nullptr;
};

UdpSender::UdpSender(uv_loop_t* loop, std::function<void(int)> on_async_error)
    : loop_(loop), on_async_error_(std::move(on_async_error)) {}

UdpSender::~UdpSender() { Close(); }

Status UdpSender::Connect(const SocketAddress& to) {
  Close();
  auto* h = new Handle;
  h->owner = this;
  int rc = uv_udp_init_ex(loop_, &h->udp, static_cast<unsigned>(to.family()));
  if (rc != 0) {
    h->Release();  // nothing adopted: freed at once
    return Status::IoError("cannot create a UDP socket for " + to.ToString() + ": " +
                           uv_strerror(rc));
  }
  h->Adopt(&h->udp);
  handle_ = h;
  rc = uv_udp_connect(&h->udp, to.get());
  if (rc == 0) {
    rc = uv_udp_recv_start(
        &h->udp,
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
          static char sink[64];  // collectors do not answer; anything read is dropped
          *buf = uv_buf_init(sink, sizeof sink);
        },
        &UdpSender::OnRead);
  }
  if (rc != 0) {
    Close();
    return Status::IoError("cannot connect a UDP socket to " + to.ToString() + ": " +
                           uv_strerror(rc));
  }
  peer_ = to;
  return Status::Ok();
}

void UdpSender::OnRead(uv_udp_t* udp, ssize_t nread, const uv_buf_t*, const sockaddr*, unsigned) {
  auto* h = static_cast<Handle*>(udp->data);
  if (h->owner == nullptr || nread >= 0) return;
  h->owner->on_async_error_(static_cast<int>(nread));
}

int UdpSender::Send(std::span<const uint8_t> datagram) {
  if (handle_ == nullptr) return UV_EBADF;
  uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(datagram.data())),
                           static_cast<unsigned>(datagram.size()));
  int rc = uv_udp_try_send(&handle_->udp, &b, 1, nullptr);
  if (rc < 0) return rc;
  return rc == static_cast<int>(datagram.size()) ? 0 : UV_EIO;
}

void UdpSender::Close() {
  if (handle_ == nullptr) return;
  handle_->owner = nullptr;
  handle_->Release();
  handle_ = nullptr;
  peer_.reset();
}

}  // namespace firewatch::agent
