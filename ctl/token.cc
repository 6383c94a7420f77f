// firewatchctl token create | revoke: operator tokens (docs/security.md, "Operator tokens").
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "app/operators.h"
#include "commands.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/text/hex.h"
#include "http/access.h"

namespace firewatch::ctl {

namespace {

// Writes `token` + "\n" to a new file (mode 0600); refuses to replace one.
bool WriteTokenFile(const std::string& path, const std::string& token) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "token create: cannot create %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  const std::string text = token + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) std::fprintf(stderr, "token create: cannot write %s\n", path.c_str());
  return ok;
}

// The entries of an operators file; a missing file is an empty list.
bool ReadEntries(const std::string& path, std::vector<collector::OperatorEntry>& out,
                 const char* what) {
  auto entries = collector::LoadOperatorsFile(path);
  if (entries.ok()) {
    out = std::move(entries).value();
    return true;
  }
  if (entries.status().code() == firewatch::Status::Code::kNotFound) return true;
  std::fprintf(stderr, "%s: %s\n", what, entries.status().message().c_str());
  return false;
}

}  // namespace

int TokenCreate(const std::string& name, const std::string& operators_file,
                const std::string& token_file) {
  if (!collector::ValidOperatorName(name)) {
    std::fprintf(stderr, "token create: '%s': a name is 1 to 64 characters of A-Z a-z 0-9 . _ @ -\n",
                 name.c_str());
    return 2;
  }
  std::vector<collector::OperatorEntry> entries;
  if (!operators_file.empty() && !ReadEntries(operators_file, entries, "token create")) return 1;
  const std::string token = collector::MakeOperatorToken();
  const std::string hash = collector::TokenSha256Hex(token);
  if (!token_file.empty() && !WriteTokenFile(token_file, token)) return 1;
  if (!operators_file.empty()) {
    entries.push_back({name, *collector::ParseSha256Hex(hash)});
    if (firewatch::Status s = collector::WriteOperatorsFile(operators_file, entries); !s.ok()) {
      std::fprintf(stderr, "token create: %s\n", s.message().c_str());
      return 1;
    }
  }
  if (token_file.empty()) {
    std::printf("token for operator %s (shown once: keep it like a password; firewatchctl reads "
                "it from $FIREWATCH_TOKEN or --token-file):\n  %s\n",
                name.c_str(), token.c_str());
  } else {
    std::printf("token for operator %s written to %s (mode 0600)\n", name.c_str(),
                token_file.c_str());
  }
  if (operators_file.empty()) {
    std::printf("add it to every collector's config under api.operators (or to its "
                "api.operators_file), then send the collector SIGHUP:\n"
                "  - {name: %s, token_sha256: %s}\n",
                name.c_str(), hash.c_str());
  } else {
    std::printf("added {name: %s, token_sha256: %s} to %s; send the collector(s) using it "
                "SIGHUP (a cluster: copy the file to every collector)\n",
                name.c_str(), hash.c_str(), operators_file.c_str());
  }
  return 0;
}

int TokenRevoke(const std::string& who, const std::string& operators_file) {
  std::vector<collector::OperatorEntry> entries;
  if (!ReadEntries(operators_file, entries, "token revoke")) return 1;
  // `who` is an operator name (all its tokens) or a prefix of a token_sha256 (one token).
  const bool by_hash = who.size() >= 8 && std::all_of(who.begin(), who.end(), [](char c) {
                         return std::isxdigit(static_cast<unsigned char>(c));
                       });
  const size_t before = entries.size();
  std::erase_if(entries, [&](const collector::OperatorEntry& e) {
    return by_hash ? text::ToHex(e.token_sha256).rfind(who, 0) == 0 : e.name == who;
  });
  const size_t removed = before - entries.size();
  if (removed == 0) {
    std::fprintf(stderr, "token revoke: no operator or token_sha256 prefix '%s' in %s\n",
                 who.c_str(), operators_file.c_str());
    return 1;
  }
  if (firewatch::Status s = collector::WriteOperatorsFile(operators_file, entries); !s.ok()) {
    std::fprintf(stderr, "token revoke: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("removed %zu token(s) from %s; send the collector(s) using it SIGHUP\n", removed,
              operators_file.c_str());
  return 0;
}

}  // namespace firewatch::ctl
