#include "app/operators.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "app/collector_config.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/text/hex.h"
#include "firewatch/secret_file.h"

namespace firewatch::collector {

namespace fs = std::filesystem;

void ReadOperatorList(config::Errors& errors, const YAML::Node& list, const std::string& path,
                      std::vector<OperatorEntry>& out) {
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) {
    errors.At(list, path + ": expected a list of {name, token_sha256}");
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = path + "[" + std::to_string(i) + "]";
    config::MapReader m(errors, list[i], where);
    std::string name, hash;
    m.String("name", name, true);
    m.String("token_sha256", hash, true);
    m.Finish();
    if (!m.valid()) continue;
    if (!name.empty() && !ValidOperatorName(name)) {
      errors.At(list[i]["name"], where + ".name: '" + name + "': 1 to 64 characters of A-Z a-z 0-9 . _ @ -");
      continue;
    }
    if (hash.empty()) continue;
    auto digest = ParseSha256Hex(hash);
    if (!digest.ok()) {
      errors.At(list[i]["token_sha256"], where + ".token_sha256: " + digest.status().message() +
                             " (firewatchctl token create prints it)");
      continue;
    }
    if (out.size() >= OperatorTokens::kMaxOperators) {
      errors.At(list[i], path + ": more than " + std::to_string(OperatorTokens::kMaxOperators) +
                             " operator tokens");
      return;
    }
    out.push_back({name, *digest});
  }
}

void ReadApiConfig(config::MapReader& top, const std::string& base_dir, ApiConfig& out) {
  config::MapReader api(top.errors(), top.Node("api"), "api");
  ReadOperatorList(top.errors(), api.Node("operators"), "api.operators", out.operators);
  api.String("operators_file", out.operators_file);
  api.Bool("read_requires_token", out.read_requires_token);
  api.Finish();
  if (!out.operators_file.empty() && fs::path(out.operators_file).is_relative()) {
    out.operators_file = (fs::absolute(fs::path(base_dir)) / out.operators_file).lexically_normal().string();
  }
}

Result<std::vector<OperatorEntry>> LoadOperatorsFile(const std::string& path) {
  // It decides who is an operator: the secret file rules (firewatch/secret_file.h), with
  // room for thousands of entries.
  auto text = ReadSecretFile(path, "operators", kMaxOperatorsFileBytes);
  if (!text.ok()) return text.status();
  auto doc = config::LoadString(*text, path);
  if (!doc.ok()) return doc.status();
  config::Errors errors(path);
  config::MapReader top(errors, *doc, "");
  std::vector<OperatorEntry> out;
  ReadOperatorList(errors, top.Node("operators"), "operators", out);
  top.Finish();
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

Status WriteOperatorsFile(const std::string& path, const std::vector<OperatorEntry>& entries) {
  std::string text =
      "# firewatch operators: who may ack, silence and change things (docs/security.md).\n"
      "# One entry per token: the operator's name and the SHA-256 of the token (never the\n"
      "# token). Written by `firewatchctl token create|revoke`; edit freely, then SIGHUP\n"
      "# the collector(s).\n"
      "operators:\n";
  for (const auto& e : entries) {
    text += "  - name: " + e.name + "\n    token_sha256: " + text::ToHex(e.token_sha256) + "\n";
  }
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ok;
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<std::shared_ptr<const OperatorTokens>> LoadOperators(const ApiConfig& api) {
  std::vector<OperatorEntry> all = api.operators;
  if (!api.operators_file.empty()) {
    auto file = LoadOperatorsFile(api.operators_file);
    if (file.ok()) {
      all.insert(all.end(), file->begin(), file->end());
    } else if (file.status().code() == Status::Code::kNotFound) {
      spdlog::warn("api.operators_file {} does not exist (yet): no operators from it; create "
                   "one with `firewatchctl token create NAME --operators-file {}` and SIGHUP",
                   api.operators_file, api.operators_file);
    } else {
      return file.status();
    }
  }
  auto tokens = OperatorTokens::Make(std::move(all));
  if (!tokens.ok()) {
    return Status::InvalidArgument("operators: " + tokens.status().message());
  }
  if (tokens->size() == 0) {
    spdlog::warn("no operator tokens configured: acks, silences and other changes through the "
                 "API are refused (docs/security.md, \"Operator tokens\")");
  }
  return std::shared_ptr<const OperatorTokens>(
      std::make_shared<OperatorTokens>(std::move(tokens).value()));
}

std::shared_ptr<const AccessPolicy> MakeAccessPolicy(const CollectorConfig& config,
                                                     std::shared_ptr<const OperatorTokens> ops) {
  auto p = std::make_shared<AccessPolicy>();
  p->operators = std::move(ops);
  p->read_requires_token = config.api.read_requires_token;
  auto add_host = [&p](const std::string& host) {
    if (!host.empty() && std::find(p->own_hosts.begin(), p->own_hosts.end(), host) == p->own_hosts.end()) {
      p->own_hosts.push_back(host);
    }
  };
  auto add_url = [&](const std::string& url) {
    const std::string origin = OriginOfUrl(url);
    if (origin.empty()) return;
    if (std::find(p->own_origins.begin(), p->own_origins.end(), origin) == p->own_origins.end()) {
      p->own_origins.push_back(origin);
    }
    add_host(HostOfAuthority(origin.substr(origin.find("://") + 3)));
  };
  add_host(HostOfAuthority(config.http_listen.host));
  add_url(config.alerting.external_url);
  for (const auto& m : config.cluster.members) {
    if (m.id == config.id) add_url(m.url);
  }
  for (const auto& h : config.allowed_hosts) add_host(HostOfAuthority(h));
  return p;
}

}  // namespace firewatch::collector
