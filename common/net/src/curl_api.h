// libcurl, loaded on first use with dlopen("libcurl.so.4").
//
// Why: loading libcurl maps its whole dependency tree (TLS, Kerberos, LDAP, SSH, IDN,
// ...), about 6 MB of resident memory before a single request, plus ~2 MB more for
// curl_global_init. A firewatch agent whose collectors answer over UDP never needs
// HTTP, so it never pays for it. Only the functions below are used; their signatures
// come from <curl/curl.h>, so a mismatch fails to compile.
#pragma once

#include <curl/curl.h>

#include <string>

namespace firewatch::net::internal {

struct CurlApi {
  decltype(&curl_global_init) global_init;
  decltype(&curl_multi_init) multi_init;
  decltype(&curl_multi_setopt) multi_setopt;
  decltype(&curl_multi_assign) multi_assign;
  decltype(&curl_multi_socket_action) multi_socket_action;
  decltype(&curl_multi_info_read) multi_info_read;
  decltype(&curl_multi_add_handle) multi_add_handle;
  decltype(&curl_multi_remove_handle) multi_remove_handle;
  decltype(&curl_multi_cleanup) multi_cleanup;
  decltype(&curl_multi_strerror) multi_strerror;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
};

// Loads libcurl and runs curl_global_init, once per process (thread-safe). Returns
// nullptr and sets `error` when the library or a symbol is missing or init failed;
// the failure is remembered (no retry).
const CurlApi* LoadCurl(std::string* error);

}  // namespace firewatch::net::internal
