#include "model/alert.h"

#include <cstdio>

namespace firewatch::alerting {

uint64_t Fingerprint(const LabelSet& labels) {
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  for (const auto& [k, v] : labels) {
    for (unsigned char c : k) mix(c);
    mix(0xff);
    for (unsigned char c : v) mix(c);
    mix(0xff);
  }
  return h;
}

std::string FingerprintHex(const LabelSet& labels) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(Fingerprint(labels)));
  return buf;
}

}  // namespace firewatch::alerting
