#include "notify/channel_config.h"

#include <filesystem>
#include <set>

#include "firewatch/secret_file.h"

namespace firewatch::alerting::notify {

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const YAML::Node Child(const YAML::Node& map, const std::string& key) {
  const YAML::Node& cn = map;
  return cn[key];
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute() || base_dir.empty()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

// Reads the secret file `file` (relative to base_dir) through ReadSecretFile (size,
// type and permission rules: firewatch/secret_file.h): whole content, trailing white
// space removed. Errors are reported at `node` as `where`.
std::string ReadSecret(config::Errors& errors, const YAML::Node& node, const std::string& where,
                       const std::string& file, const std::string& base_dir) {
  std::string path = Resolve(base_dir, file);
  auto text = ReadSecretFile(path, "secret");
  if (!text.ok()) {
    errors.At(node, where + ": " + text.status().message());
    return "";
  }
  std::string s = std::move(text).value();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  if (s.empty()) errors.At(node, where + ": secret file '" + path + "' is empty");
  if (s.find_first_of("\r\n") != std::string::npos) {
    errors.At(node, where + ": secret file '" + path + "' has several lines");
  }
  return s;
}

// Reads a secret file named by `key`.
std::string Secret(config::MapReader& r, const YAML::Node& item, const std::string& key,
                   const std::string& base_dir, bool required) {
  std::string file;
  r.String(key, file, required);
  if (file.empty()) return "";
  return ReadSecret(r.errors(), Child(item, key), r.PathOf(key), file, base_dir);
}

bool HasScheme(const std::string& url, std::initializer_list<const char*> schemes) {
  for (const char* s : schemes) {
    if (url.rfind(std::string(s) + "://", 0) == 0 && url.size() > std::string(s).size() + 3) {
      return true;
    }
  }
  return false;
}

void Url(config::MapReader& r, const YAML::Node& item, const std::string& key, std::string& out,
         bool required, std::initializer_list<const char*> schemes, const char* hint) {
  r.String(key, out, required);
  if (out.empty()) return;
  if (!HasScheme(out, schemes)) {
    r.errors().At(Child(item, key), r.PathOf(key) + ": expected " + hint + ", got '" + out + "'");
    return;
  }
  while (!out.empty() && out.back() == '/') out.pop_back();
}

template <typename E>
void Enum(config::MapReader& r, const YAML::Node& item, const std::string& key, E& out,
          std::initializer_list<std::pair<const char*, E>> values) {
  std::string s;
  r.String(key, s);
  if (s.empty()) return;
  std::string names;
  for (const auto& [name, value] : values) {
    if (s == name) {
      out = value;
      return;
    }
    names += names.empty() ? name : std::string(", ") + name;
  }
  r.errors().At(Child(item, key), r.PathOf(key) + ": expected one of " + names + ", got '" + s + "'");
}

void Address(config::MapReader& r, const YAML::Node& item, const std::string& key, std::string& out) {
  r.String(key, out, true);
  if (!out.empty() && !IsValidMailAddress(out)) {
    r.errors().At(Child(item, key),
                  r.PathOf(key) + ": expected an e-mail address like firewatch@example.com, got '" +
                      out + "'");
  }
}

// Basic auth (username + password_file) or a bearer token, never both.
void HttpAuth(config::MapReader& r, const YAML::Node& item, const std::string& base_dir,
              std::string& username, std::string& password, std::string* bearer) {
  r.String("username", username);
  password = Secret(r, item, "password_file", base_dir, false);
  if (!username.empty() && !r.Has("password_file")) {
    r.errors().At(Child(item, "username"), r.PathOf("username") + ": needs password_file");
  }
  if (username.empty() && r.Has("password_file")) {
    r.errors().At(Child(item, "password_file"), r.PathOf("password_file") + ": needs username");
  }
  if (bearer != nullptr) {
    *bearer = Secret(r, item, "bearer_token_file", base_dir, false);
    if (r.Has("bearer_token_file") && r.Has("username")) {
      r.errors().At(Child(item, "bearer_token_file"),
                    r.PathOf("bearer_token_file") + ": use either bearer_token_file or username");
    }
  }
}

SmtpConfig ParseSmtp(config::MapReader& r, const YAML::Node& item, const std::string& base_dir) {
  SmtpConfig c;
  Url(r, item, "url", c.url, true, {"smtp", "smtps"}, "smtp://host:port or smtps://host:port");
  bool implicit_tls = c.url.rfind("smtps://", 0) == 0;
  if (implicit_tls && r.Has("starttls")) {
    r.errors().At(Child(item, "starttls"),
                  r.PathOf("starttls") + ": not used with smtps:// (TLS from the first byte)");
  }
  using S = SmtpConfig::StartTls;
  Enum(r, item, "starttls", c.starttls,
       {{"required", S::kRequired}, {"optional", S::kOptional}, {"off", S::kOff}});
  Address(r, item, "from", c.from);
  r.String("from_name", c.from_name);
  r.String("hello_name", c.hello_name);
  Enum(r, item, "transfer_encoding", c.encoding,
       {{"quoted-printable", TransferEncoding::kQuotedPrintable}, {"8bit", TransferEncoding::k8Bit}});
  HttpAuth(r, item, base_dir, c.username, c.password, nullptr);
  if (!c.username.empty() && !implicit_tls && c.starttls != S::kRequired) {
    r.errors().At(Child(item, "username"),
                  r.PathOf("username") +
                      ": AUTH sends the password, so it needs starttls: required or smtps://");
  }
  return c;
}

TwilioConfig ParseTwilio(config::MapReader& r, const YAML::Node& item, const std::string& base_dir) {
  TwilioConfig c;
  Url(r, item, "base_url", c.base_url, false, {"http", "https"}, "an http:// or https:// URL");
  r.String("account_sid", c.account_sid, true);
  if (!c.account_sid.empty() &&
      c.account_sid.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") !=
          std::string::npos) {
    r.errors().At(Child(item, "account_sid"), r.PathOf("account_sid") + ": expected letters and digits");
  }
  c.auth_token = Secret(r, item, "auth_token_file", base_dir, true);
  // A rotation (docs/security.md): tokens the inbound webhook still accepts signatures
  // under while Twilio may sign with either. Never used to send.
  if (YAML::Node prev = r.Node("auth_token_previous_files"); prev.IsDefined() && !prev.IsNull()) {
    const std::string where = r.PathOf("auth_token_previous_files");
    if (!prev.IsSequence() || prev.size() > 4) {
      r.errors().At(prev, where + ": expected a list of at most 4 files");
    } else {
      for (size_t i = 0; i < prev.size(); ++i) {
        const std::string at = where + "[" + std::to_string(i) + "]";
        if (!prev[i].IsScalar() || prev[i].Scalar().empty()) {
          r.errors().At(prev[i], at + ": expected a file");
          continue;
        }
        std::string token = ReadSecret(r.errors(), prev[i], at, prev[i].Scalar(), base_dir);
        if (!token.empty()) c.previous_auth_tokens.push_back(std::move(token));
      }
    }
  }
  r.String("from", c.from, true);
  return c;
}

HttpSmsConfig ParseHttpSms(config::MapReader& r, const YAML::Node& item, const std::string& base_dir) {
  HttpSmsConfig c;
  Url(r, item, "url", c.url, true, {"http", "https"}, "an http:// or https:// URL");
  r.String("method", c.method);
  if (c.method != "GET" && c.method != "POST" && c.method != "PUT") {
    r.errors().At(Child(item, "method"),
                  r.PathOf("method") + ": expected one of GET, POST, PUT, got '" + c.method + "'");
  }
  r.StringMap("headers", c.headers);
  r.String("body_template", c.body_template);
  if (c.method == "GET" && r.Has("body_template")) {
    r.errors().At(Child(item, "body_template"), r.PathOf("body_template") + ": GET sends no body");
  }
  if (c.method != "GET" && !r.Has("body_template")) {
    r.errors().At(item, r.PathOf("body_template") + ": required for " + c.method);
  }
  using E = HttpSmsConfig::BodyEncoding;
  Enum(r, item, "body_encoding", c.body_encoding, {{"form", E::kForm}, {"json", E::kJson}});
  YAML::Node codes = r.Node("success_status");
  if (codes.IsDefined() && !codes.IsNull()) {
    if (!codes.IsSequence() || codes.size() == 0) {
      r.errors().At(codes, r.PathOf("success_status") + ": expected a list of HTTP status codes");
    } else {
      for (const auto& code : codes) {
        long v = 0;
        if (!code.IsScalar() || !YAML::convert<long>::decode(code, v) || v < 100 || v > 599) {
          r.errors().At(code, r.PathOf("success_status") + ": expected a status from 100 to 599");
          continue;
        }
        c.success_status.push_back(v);
      }
    }
  }
  HttpAuth(r, item, base_dir, c.username, c.password, &c.bearer_token);
  return c;
}

WebhookConfig ParseWebhook(config::MapReader& r, const YAML::Node& item, const std::string& base_dir) {
  WebhookConfig c;
  Url(r, item, "url", c.url, true, {"http", "https"}, "an http:// or https:// URL");
  r.String("receiver", c.receiver);
  r.String("external_url", c.external_url);
  HttpAuth(r, item, base_dir, c.username, c.password, &c.bearer_token);
  return c;
}

PagerDutyConfig ParsePagerDuty(config::MapReader& r, const YAML::Node& item,
                               const std::string& base_dir) {
  PagerDutyConfig c;
  Url(r, item, "base_url", c.base_url, false, {"http", "https"}, "an http:// or https:// URL");
  c.routing_key = Secret(r, item, "routing_key_file", base_dir, true);
  r.String("source", c.source);
  Enum(r, item, "severity", c.severity,
       {{"critical", std::string("critical")}, {"error", std::string("error")},
        {"warning", std::string("warning")}, {"info", std::string("info")}});
  return c;
}

// `rate_limit: {count: N, per: DURATION}`, both keys required.
std::optional<ChannelRateLimit> ParseRateLimit(config::MapReader& r) {
  const YAML::Node n = r.Node("rate_limit");
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  config::MapReader rr(r.errors(), n, r.PathOf("rate_limit"));
  if (!rr.valid()) return std::nullopt;
  uint64_t count = 0;
  Duration per{0};
  rr.Uint("count", count, 1, 1'000'000);
  rr.Duration("per", per, seconds(1), std::chrono::hours(24));
  for (const char* key : {"count", "per"}) {
    if (!rr.Has(key)) r.errors().At(n, rr.PathOf(key) + ": required but missing");
  }
  rr.Finish();
  if (count == 0 || per.count() == 0) return std::nullopt;
  return ChannelRateLimit{static_cast<int>(count),
                          std::chrono::duration_cast<milliseconds>(per)};
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<ChannelConfig> ParseChannels(config::Errors& errors, const YAML::Node& channels,
                                         const std::string& base_dir) {
  std::vector<ChannelConfig> out;
  if (!channels.IsDefined() || channels.IsNull()) return out;
  if (!channels.IsSequence()) {
    errors.At(channels, "channels: expected a list of channels");
    return out;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < channels.size(); ++i) {
    const YAML::Node item = channels[i];
    const std::string path = "channels[" + std::to_string(i) + "]";
    config::MapReader r(errors, item, path);
    if (!r.valid()) continue;
    bool before_ok = errors.empty();
    ChannelConfig c;
    r.String("name", c.name, true);
    if (!c.name.empty() && !ValidName(c.name)) {
      errors.At(Child(item, "name"), r.PathOf("name") + ": expected letters, digits, '-', '_' or '.', got '" +
                                         c.name + "'");
    } else if (!c.name.empty() && !names.insert(c.name).second) {
      errors.At(Child(item, "name"), r.PathOf("name") + ": channel '" + c.name + "' is defined twice");
    }
    r.String("type", c.type, true);
    http_client::TransportOptions t;
    r.Duration("timeout", t.timeout, milliseconds(100), minutes(5));
    r.Duration("connect_timeout", t.connect_timeout, milliseconds(100), minutes(1));
    if (t.connect_timeout > t.timeout) {
      errors.At(Child(item, "connect_timeout"),
                r.PathOf("connect_timeout") + ": must not exceed timeout (" +
                    config::FormatDuration(t.timeout) + ")");
    }
    std::string ca;
    r.String("ca_file", ca);
    t.ca_file = Resolve(base_dir, ca);
    if (!t.ca_file.empty() && !fs::is_regular_file(t.ca_file)) {
      errors.At(Child(item, "ca_file"), r.PathOf("ca_file") + ": no such file '" + t.ca_file + "'");
    }
    r.Bool("insecure_skip_verify", t.insecure_skip_verify);
    c.rate_limit = ParseRateLimit(r);

    // Every type's settings carry the common transport options.
    auto set = [&](auto s) {
      s.transport = t;
      c.settings = std::move(s);
    };
    if (c.type == "smtp") {
      set(ParseSmtp(r, item, base_dir));
    } else if (c.type == "twilio") {
      set(ParseTwilio(r, item, base_dir));
    } else if (c.type == "http_sms") {
      set(ParseHttpSms(r, item, base_dir));
    } else if (c.type == "webhook") {
      set(ParseWebhook(r, item, base_dir));
    } else if (c.type == "pagerduty") {
      set(ParsePagerDuty(r, item, base_dir));
    } else {
      if (!c.type.empty()) {
        errors.At(Child(item, "type"), r.PathOf("type") +
                                           ": expected one of smtp, twilio, http_sms, webhook, "
                                           "pagerduty, got '" + c.type + "'");
      }
      continue;  // type-specific keys cannot be checked without a type
    }
    r.Finish();
    if (before_ok && errors.empty()) out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<ChannelConfig>> LoadChannelsFile(const std::string& path) {
  auto root = config::LoadFile(path);
  if (!root.ok()) return root.status();
  config::Errors errors(path);
  config::MapReader top(errors, *root, "");
  YAML::Node channels = top.Node("channels");
  top.Finish();
  std::string base_dir = fs::path(path).parent_path().string();
  auto out = ParseChannels(errors, channels, base_dir);
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

}  // namespace firewatch::alerting::notify
