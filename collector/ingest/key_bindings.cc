#include "ingest/key_bindings.h"

#include <set>

#include "firewatch/protocol/frame.h"

namespace firewatch::collector {

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Greedy with one backtrack point (the last '*'): on a mismatch, the last star absorbs
  // one more byte. Each (star, text position) pair is tried at most once: O(|p| x |t|).
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Status KeyBindings::Bind(const std::string& key_id, const std::vector<std::string>& sources) {
  if (sources.empty()) {
    return Status::InvalidArgument("key '" + key_id +
                                   "': an empty sources list binds the key to nothing; omit "
                                   "`sources` to let it speak for every source");
  }
  Binding b;
  std::set<std::string_view> seen;
  for (const std::string& s : sources) {
    if (s.empty()) return Status::InvalidArgument("key '" + key_id + "': an empty source pattern");
    const bool glob = s.find('*') != std::string::npos;
    const size_t limit = glob ? kMaxPatternLength : protocol::kMaxIdLength;
    if (s.size() > limit) {
      return Status::InvalidArgument("key '" + key_id + "': source '" + s.substr(0, 40) +
                                     "...' is " + std::to_string(s.size()) +
                                     " bytes; the limit is " + std::to_string(limit) +
                                     (glob ? " for a pattern" : " (a source id's maximum)"));
    }
    if (!seen.insert(s).second) {
      return Status::InvalidArgument("key '" + key_id + "': source '" + s + "' is listed twice");
    }
    if (glob) {
      if (b.patterns.size() >= kMaxPatternsPerKey) {
        return Status::InvalidArgument("key '" + key_id + "': more than " +
                                       std::to_string(kMaxPatternsPerKey) + " patterns");
      }
      b.patterns.push_back(s);
    } else {
      if (b.names.size() >= kMaxNamesPerKey) {
        return Status::InvalidArgument("key '" + key_id + "': more than " +
                                       std::to_string(kMaxNamesPerKey) + " source names");
      }
      b.names.insert(s);
    }
  }
  keys_.insert_or_assign(key_id, std::move(b));
  return Status::Ok();
}

bool KeyBindings::Allows(std::string_view key_id, std::string_view source_id) const {
  auto it = keys_.find(key_id);
  if (it == keys_.end()) return true;  // unbound: a fleet key
  const Binding& b = it->second;
  if (b.names.find(source_id) != b.names.end()) return true;
  for (const std::string& p : b.patterns) {
    if (GlobMatch(p, source_id)) return true;
  }
  return false;
}

bool KeyBindings::IsBound(std::string_view key_id) const { return keys_.find(key_id) != keys_.end(); }

}  // namespace firewatch::collector
