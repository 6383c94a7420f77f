#include "net_probes.h"

#include <algorithm>
#include <array>

#include "firewatch/net/uv_handle.h"

namespace firewatch::agent {

namespace {

// Freed after its two handles have closed (net::UvHandleOwner).
struct Probe : net::UvHandleOwner<Probe> {
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_write_t write{};
  uv_timer_t timer{};
  bool finished = false;
  std::string request;
  size_t max_response = 0;
  NetProbeResult result;
  std::weak_ptr<bool> alive;
  std::function<void(NetProbeResult)> done;
  std::array<char, 4096> buf{};

  void Finish(int status, bool timed_out = false) {
    if (finished) return;
    finished = true;
    result.status = status;
    result.timed_out = timed_out;
    if (!alive.expired() && done) done(std::move(result));
    // Closing the stream cancels a pending connect or write (their callbacks run with
    // UV_ECANCELED and find the probe finished).
    Release();
  }
};

Probe* Of(void* data) {
  return static_cast<Probe*>(data);
}

void StartReading(Probe* p) {
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&p->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* b) {
        Probe* pr = Of(h->data);
        *b = uv_buf_init(pr->buf.data(), static_cast<unsigned>(pr->buf.size()));
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
        Probe* pr = Of(s->data);
        if (pr->finished) return;
        if (n > 0) {
          size_t room = pr->max_response - pr->result.response.size();
          pr->result.response.append(b->base, std::min(room, static_cast<size_t>(n)));
          // Enough to judge: stop here rather than read a large body.
          if (pr->result.response.size() >= pr->max_response) pr->Finish(0);
          return;
        }
        if (n == UV_EOF) {
          pr->Finish(0);
        } else if (n < 0) {
          pr->Finish(static_cast<int>(n));
        }
      });
}

}  // namespace

void StartNetProbe(uv_loop_t* loop, const SocketAddress& address, std::string request,
                   Duration timeout, size_t max_response, std::weak_ptr<bool> alive,
                   std::function<void(NetProbeResult)> done) {
  auto* p = new Probe;
  p->request = std::move(request);
  p->max_response = std::max<size_t>(max_response, 1);
  p->alive = std::move(alive);
  p->done = std::move(done);
  p->connect.data = p->write.data = p;
  uv_tcp_init(loop, &p->tcp);
  uv_timer_init(loop, &p->timer);
  p->Adopt(&p->tcp, &p->timer);
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  uv_timer_start(
      &p->timer, [](uv_timer_t* t) { Of(t->data)->Finish(UV_ETIMEDOUT, true); },
      static_cast<uint64_t>(std::max<int64_t>(ms, 0)), 0);
  int rc = uv_tcp_connect(&p->connect, &p->tcp, address.get(), [](uv_connect_t* c, int status) {
    Probe* pr = Of(c->data);
    if (pr->finished) return;
    if (status != 0 || pr->request.empty()) {
      pr->Finish(status);
      return;
    }
    uv_buf_t buf = uv_buf_init(pr->request.data(), static_cast<unsigned>(pr->request.size()));
    int wrc = uv_write(&pr->write, reinterpret_cast<uv_stream_t*>(&pr->tcp), &buf, 1,
                       [](uv_write_t* w, int st) {
                         Probe* q = Of(w->data);
                         if (!q->finished && st != 0) q->Finish(st);
                       });
    if (wrc != 0) {
      pr->Finish(wrc);
      return;
    }
    StartReading(pr);
  });
  if (rc != 0) p->Finish(rc);
}

}  // namespace firewatch::agent
