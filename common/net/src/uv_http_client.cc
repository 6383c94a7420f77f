// libcurl multi + libuv, following curl's documented "multi_socket" pattern:
//  - CURLMOPT_SOCKETFUNCTION tells us which sockets to watch: one uv_poll per socket;
//  - CURLMOPT_TIMERFUNCTION tells us when curl wants to be called back: one uv_timer;
//  - both call curl_multi_socket_action, then we collect finished transfers.
// libcurl itself is loaded on the first Post (curl_api.h), so a process that never
// needs HTTP never maps libcurl or initialises it.
#include "firewatch/net/uv_http_client.h"

#include "curl_api.h"
#include "firewatch/net/uv_handle.h"

#include <algorithm>
#include <optional>
#include <mutex>
#include <set>
#include <utility>

namespace firewatch::net {

namespace {

struct Request {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* resolve = nullptr;  // CURLOPT_RESOLVE: must outlive the transfer
  std::string body;
  HttpResponse response;
  size_t max_body = 0;
  UvHttpClient::Callback callback;
  char errbuf[CURL_ERROR_SIZE] = {};
};

void FreeRequest(const internal::CurlApi* curl, Request* r) {
  if (r->easy != nullptr) curl->easy_cleanup(r->easy);
  if (r->headers != nullptr) curl->slist_free_all(r->headers);
  if (r->resolve != nullptr) curl->slist_free_all(r->resolve);
  delete r;
}

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* r = static_cast<Request*>(userdata);
  size_t n = size * nmemb;
  size_t room = r->max_body - std::min(r->max_body, r->response.body.size());
  size_t take = std::min(n, room);
  r->response.body.append(ptr, take);
  if (take < n) r->response.body_truncated = true;
  return n;  // always consume: a long body is truncated, not an error
}

}  // namespace

struct UvHttpClient::Impl {
  // One socket curl asked us to watch; outlives its watch until the close callback.
  struct SocketWatch : UvHandleOwner<SocketWatch> {
    uv_poll_t poll{};
    curl_socket_t fd = CURL_SOCKET_BAD;
    Impl* impl = nullptr;
  };

  uv_loop_t* loop;
  Options options;
  const internal::CurlApi* curl = nullptr;  // set by EnsureMulti
  CURLM* multi = nullptr;
  UvTimer timer;  // open from EnsureMulti to Close
  std::set<Request*> requests;
  std::set<SocketWatch*> sockets;
  bool closed = false;

  Impl(uv_loop_t* l, Options o) : loop(l), options(std::move(o)) {}

  Status EnsureMulti() {
    if (multi != nullptr) return Status::Ok();
    std::string error;
    curl = internal::LoadCurl(&error);
    if (curl == nullptr) return Status::Unavailable(error);
    multi = curl->multi_init();
    if (multi == nullptr) return Status::Unavailable("curl_multi_init failed");
    timer.Init(loop, [this] { OnTimer(); });
    curl->multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::OnCurlSocket);
    curl->multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl->multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::OnCurlTimer);
    curl->multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    return Status::Ok();
  }

  // curl: "watch socket `s` for `what`" (or stop watching it).
  static int OnCurlSocket(CURL* /*easy*/, curl_socket_t s, int what, void* userp, void* socketp) {
    auto* self = static_cast<Impl*>(userp);
    auto* watch = static_cast<SocketWatch*>(socketp);
    if (what == CURL_POLL_REMOVE) {
      if (watch != nullptr) {
        if (!self->closed) self->curl->multi_assign(self->multi, s, nullptr);
        self->CloseWatch(watch);
      }
      return 0;
    }
    if (watch == nullptr) {
      watch = new SocketWatch;
      watch->fd = s;
      watch->impl = self;
      if (uv_poll_init_socket(self->loop, &watch->poll, s) != 0) {
        watch->Release();  // nothing adopted: freed at once
        return -1;         // curl fails the transfer
      }
      watch->Adopt(&watch->poll);
      self->sockets.insert(watch);
      self->curl->multi_assign(self->multi, s, watch);
    }
    int events = 0;
    if (what & CURL_POLL_IN) events |= UV_READABLE;
    if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
    if (uv_poll_start(&watch->poll, events, &Impl::OnPoll) != 0) return -1;
    return 0;
  }

  // curl: "call me back in `timeout_ms`" (-1: cancel).
  static int OnCurlTimer(CURLM* /*multi*/, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0) {
      self->timer.Stop();
    } else {
      // Never call socket_action from here (curl forbids re-entry): a 0 ms timer runs it
      // on the next loop iteration instead.
      self->timer.Again(std::chrono::milliseconds(timeout_ms));
    }
    return 0;
  }

  void OnTimer() {
    if (multi == nullptr) return;
    int running = 0;
    curl->multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    CollectFinished();
  }

  static void OnPoll(uv_poll_t* p, int status, int events) {
    auto* watch = static_cast<SocketWatch*>(p->data);
    Impl* self = watch->impl;
    if (self == nullptr || self->multi == nullptr) return;
    int flags = 0;
    if (status < 0) {
      flags = CURL_CSELECT_ERR;
    } else {
      if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
      if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    int running = 0;
    self->curl->multi_socket_action(self->multi, watch->fd, flags, &running);
    self->CollectFinished();
  }

  void CloseWatch(SocketWatch* watch) {
    sockets.erase(watch);
    watch->impl = nullptr;
    watch->Release();
  }

  // Removes finished transfers from the multi handle, then runs their callbacks (after
  // the loop over curl's messages, so a callback may Post or Close freely).
  void CollectFinished() {
    std::vector<std::pair<Request*, CURLcode>> done;
    int left = 0;
    while (multi != nullptr) {
      CURLMsg* msg = curl->multi_info_read(multi, &left);
      if (msg == nullptr) break;
      if (msg->msg != CURLMSG_DONE) continue;
      Request* r = nullptr;
      curl->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
      CURLcode code = msg->data.result;
      curl->multi_remove_handle(multi, msg->easy_handle);  // invalidates msg
      requests.erase(r);
      done.emplace_back(r, code);
    }
    for (auto& [r, code] : done) {
      Callback cb = std::move(r->callback);
      if (code == CURLE_OK) {
        curl->easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->response.status);
        HttpResponse resp = std::move(r->response);
        FreeRequest(curl, r);
        cb(std::move(resp));
      } else {
        std::string why = r->errbuf[0] != '\0' ? r->errbuf : curl->easy_strerror(code);
        FreeRequest(curl, r);
        cb(Status::Unavailable(why));
      }
    }
  }

  // A POST of `body`, or a GET without one.
  Status Start(const std::string& url, std::optional<std::string> body,
               const std::vector<std::string>& headers, Duration timeout,
               const UvHttpClient::TlsOptions& tls, Callback callback) {
    if (closed) return Status::Unavailable("HTTP client is closed");
    Status s = EnsureMulti();
    if (!s.ok()) return s;
    auto* r = new Request{};
    r->easy = curl->easy_init();
    if (r->easy == nullptr) {
      FreeRequest(curl, r);
      return Status::Unavailable("curl_easy_init failed");
    }
    if (body) r->body = std::move(*body);
    r->max_body = options.max_response_body;
    r->callback = std::move(callback);
    for (const auto& h : headers) r->headers = curl->slist_append(r->headers, h.c_str());
    // Never wait for "100 Continue": our bodies are small and servers may not send it.
    r->headers = curl->slist_append(r->headers, "Expect:");
    long timeout_ms = static_cast<long>(
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
    CURL* e = r->easy;
    curl->easy_setopt(e, CURLOPT_URL, url.c_str());
    curl->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) {
      curl->easy_setopt(e, CURLOPT_POST, 1L);
      curl->easy_setopt(e, CURLOPT_POSTFIELDS, r->body.data());
      curl->easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r->body.size()));
    } else {
      curl->easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (!tls.ca_file.empty()) curl->easy_setopt(e, CURLOPT_CAINFO, tls.ca_file.c_str());
    if (!tls.verify) {
      curl->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!tls.resolve.empty()) {
      r->resolve = curl->slist_append(nullptr, tls.resolve.c_str());
      curl->easy_setopt(e, CURLOPT_RESOLVE, r->resolve);
    }
    curl->easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl->easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl->easy_setopt(e, CURLOPT_PROXY, "");  // ignore http_proxy & co: see header
    curl->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl->easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl->easy_setopt(e, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl->easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl->easy_setopt(e, CURLOPT_PRIVATE, r);
    curl->easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    CURLMcode mc = curl->multi_add_handle(multi, e);
    if (mc != CURLM_OK) {
      r->callback = nullptr;
      FreeRequest(curl, r);
      return Status::Unavailable(std::string("curl_multi_add_handle: ") + curl->multi_strerror(mc));
    }
    requests.insert(r);
    return Status::Ok();
  }

  void Close() {
    if (closed) return;
    closed = true;
    std::vector<Request*> cancelled(requests.begin(), requests.end());
    requests.clear();
    for (Request* r : cancelled) curl->multi_remove_handle(multi, r->easy);
    if (multi != nullptr) {
      curl->multi_cleanup(multi);  // may report CURL_POLL_REMOVE for cached connections
      multi = nullptr;
    }
    // Whatever curl did not ask us to remove is closed here, so no handle leaks.
    for (SocketWatch* w : std::vector<SocketWatch*>(sockets.begin(), sockets.end())) {
      CloseWatch(w);
    }
    timer.Close();
    for (Request* r : cancelled) {
      Callback cb = std::move(r->callback);
      FreeRequest(curl, r);
      if (cb) cb(Status::Unavailable("cancelled"));
    }
  }
};

UvHttpClient::UvHttpClient(uv_loop_t* loop) : UvHttpClient(loop, Options{}) {}
UvHttpClient::UvHttpClient(uv_loop_t* loop, Options options)
    : impl_(std::make_unique<Impl>(loop, std::move(options))) {}
UvHttpClient::~UvHttpClient() { impl_->Close(); }

Status UvHttpClient::Post(const std::string& url, std::span<const uint8_t> body,
                          const std::vector<std::string>& headers, Duration timeout,
                          Callback callback) {
  return impl_->Start(url, std::string(reinterpret_cast<const char*>(body.data()), body.size()),
                      headers, timeout, TlsOptions{}, std::move(callback));
}

Status UvHttpClient::Get(const std::string& url, const std::vector<std::string>& headers,
                         Duration timeout, const TlsOptions& tls, Callback callback) {
  return impl_->Start(url, std::nullopt, headers, timeout, tls, std::move(callback));
}

size_t UvHttpClient::in_flight() const { return impl_->requests.size(); }
void UvHttpClient::Close() { impl_->Close(); }
bool UvHttpClient::closed() const { return impl_->closed; }

}  // namespace firewatch::net
