#include "curl_api.h"

#include <dlfcn.h>

#include <mutex>

namespace firewatch::net::internal {

namespace {

template <typename Fn>
bool Resolve(void* lib, const char* name, Fn& out, std::string& error) {
  void* sym = dlsym(lib, name);
  if (sym == nullptr) {
    error = std::string("libcurl has no symbol ") + name;
    return false;
  }
  out = reinterpret_cast<Fn>(sym);
  return true;
}

}  // namespace

const CurlApi* LoadCurl(std::string* error) {
  static std::once_flag once;
  static CurlApi api{};
  static const CurlApi* loaded = nullptr;
  static std::string load_error;
  std::call_once(once, [] {
    // Never dlclose'd: curl keeps process-wide state until exit.
    void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = dlerror();
      load_error = std::string("cannot load libcurl.so.4: ") + (why ? why : "unknown error");
      return;
    }
    std::string& e = load_error;
    bool ok = Resolve(lib, "curl_global_init", api.global_init, e) &&
              Resolve(lib, "curl_multi_init", api.multi_init, e) &&
              Resolve(lib, "curl_multi_setopt", api.multi_setopt, e) &&
              Resolve(lib, "curl_multi_assign", api.multi_assign, e) &&
              Resolve(lib, "curl_multi_socket_action", api.multi_socket_action, e) &&
              Resolve(lib, "curl_multi_info_read", api.multi_info_read, e) &&
              Resolve(lib, "curl_multi_add_handle", api.multi_add_handle, e) &&
              Resolve(lib, "curl_multi_remove_handle", api.multi_remove_handle, e) &&
              Resolve(lib, "curl_multi_cleanup", api.multi_cleanup, e) &&
              Resolve(lib, "curl_multi_strerror", api.multi_strerror, e) &&
              Resolve(lib, "curl_easy_init", api.easy_init, e) &&
              Resolve(lib, "curl_easy_setopt", api.easy_setopt, e) &&
              Resolve(lib, "curl_easy_getinfo", api.easy_getinfo, e) &&
              Resolve(lib, "curl_easy_cleanup", api.easy_cleanup, e) &&
              Resolve(lib, "curl_easy_strerror", api.easy_strerror, e) &&
              Resolve(lib, "curl_slist_append", api.slist_append, e) &&
              Resolve(lib, "curl_slist_free_all", api.slist_free_all, e);
    if (!ok) return;
    CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      load_error = std::string("curl_global_init failed: ") + api.easy_strerror(rc);
      return;
    }
    loaded = &api;
  });
  if (loaded == nullptr && error != nullptr) *error = load_error;
  return loaded;
}

}  // namespace firewatch::net::internal
