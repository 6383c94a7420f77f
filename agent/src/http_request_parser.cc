#include "http_request_parser.h"

#include <algorithm>

namespace firewatch::agent {

namespace {

// RFC 9110 "tchar".
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// Visible ASCII; request targets are percent-encoded, so nothing else may appear.
bool IsTargetChar(char c) { return c > 0x20 && c < 0x7f; }

// Field values may hold visible characters, spaces, tabs and obs-text (0x80..0xff).
bool IsFieldValueChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

}  // namespace

HttpRequestParser::State HttpRequestParser::Fail(int status, std::string reason) {
  state_ = State::kError;
  error_status_ = status;
  error_reason_ = std::move(reason);
  buffer_.clear();
  return state_;
}

HttpRequestParser::State HttpRequestParser::Feed(std::string_view data) {
  while (state_ == State::kNeedMore && !data.empty()) {
    size_t nl = data.find('\n');
    size_t take = nl == std::string_view::npos ? data.size() : nl + 1;
    if (head_bytes_ + take > limits_.max_head) {
      if (!have_request_line_ && buffer_.size() + take > limits_.max_target + 16) {
        return Fail(414, "request line too long");
      }
      return Fail(431, "request head larger than " + std::to_string(limits_.max_head) + " bytes");
    }
    head_bytes_ += take;
    buffer_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (nl == std::string_view::npos) {
      // Reject obvious garbage early instead of waiting for a newline that may not come.
      if (!have_request_line_) {
        std::string_view partial(buffer_);
        if (partial.back() == '\r') partial.remove_suffix(1);  // the LF may be next
        size_t sp = partial.find(' ');
        std::string_view method = partial.substr(0, sp);
        if (!std::all_of(method.begin(), method.end(), IsTokenChar)) {
          return Fail(400, "malformed request line");
        }
        if (sp != std::string::npos && buffer_.size() - sp > limits_.max_target + 16) {
          return Fail(414, "request target too long");
        }
      }
      break;
    }
    std::string_view line(buffer_);
    line.remove_suffix(1);  // '\n'
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    State s = have_request_line_ ? ParseHeaderLine(line) : ParseRequestLine(line);
    if (state_ == State::kNeedMore) buffer_.clear();
    if (s != State::kNeedMore) return s;
  }
  return state_;
}

HttpRequestParser::State HttpRequestParser::ParseRequestLine(std::string_view line) {
  // RFC 9112 section 2.2: ignore at least one empty line before the request line.
  if (line.empty()) return State::kNeedMore;
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(400, "malformed method");
  if (target.size() > limits_.max_target) return Fail(414, "request target too long");
  if (target.empty() || !std::all_of(target.begin(), target.end(), IsTargetChar)) {
    return Fail(400, "malformed request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Fail(400, "malformed HTTP version");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return Fail(505, "HTTP version not supported");
  }
  // Absolute form ("http://host:port/path") is legal; keep only its path.
  std::string_view origin = target;
  if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
    size_t slash = target.find('/', target.find("//") + 2);
    origin = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (origin[0] != '/' && origin != "*") return Fail(400, "malformed request target");
  request_.method = std::string(method);
  request_.target = std::string(origin);
  request_.path = std::string(origin.substr(0, origin.find('?')));
  request_.version = std::string(version);
  have_request_line_ = true;
  return State::kNeedMore;
}

HttpRequestParser::State HttpRequestParser::ParseHeaderLine(std::string_view line) {
  if (line.empty()) {
    state_ = State::kComplete;
    buffer_.clear();
    return state_;
  }
  if (line[0] == ' ' || line[0] == '\t') return Fail(400, "obsolete header line folding");
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
    return Fail(400, "malformed header field");
  }
  std::string_view value = line.substr(colon + 1);
  if (!std::all_of(value.begin(), value.end(), IsFieldValueChar)) {
    return Fail(400, "control character in header field");
  }
  return State::kNeedMore;
}

}  // namespace firewatch::agent
