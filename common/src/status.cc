#include "firewatch/status.h"

namespace firewatch {

std::string Status::ToString() const {
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "invalid argument: " + message_;
    case Code::kNotFound: return "not found: " + message_;
    case Code::kIoError: return "I/O error: " + message_;
    case Code::kCorruption: return "corruption: " + message_;
    case Code::kUnavailable: return "unavailable: " + message_;
  }
  return message_;
}

}  // namespace firewatch
