#include "firewatch/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace firewatch {

namespace {

SecretFileWarningSink& Sink() {
  static SecretFileWarningSink sink;
  return sink;
}

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

void SetSecretFileWarningSink(SecretFileWarningSink sink) {
  Sink() = std::move(sink);
}

Result<std::string> ReadSecretFile(const std::string& path, const std::string& what,
                                   size_t max_bytes) {
  const std::string name = what + " file " + path;
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    std::string msg = "cannot read " + name + ": " + std::strerror(err);
    if (err == ENOENT) return Status::NotFound(msg);
    return Status::IoError(msg);
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Status::IoError("cannot stat " + name + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(name + " is not a regular file");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status::InvalidArgument(name + " is writable by " +
                                   ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") +
                                   " (mode " + Octal(st.st_mode) + "): whoever can write it can " +
                                   "replace the secret; chmod go-w " + path);
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Status::InvalidArgument(name + " is larger than " + std::to_string(max_bytes) +
                                   " bytes (" + std::to_string(st.st_size) +
                                   "): not a secret file?");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("cannot read " + name + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    // The size can change between fstat and read (a file being written): never more.
    if (text.size() > max_bytes) {
      return Status::InvalidArgument(name + " is larger than " + std::to_string(max_bytes) +
                                     " bytes: not a secret file?");
    }
  }
  if ((st.st_mode & S_IROTH) != 0) {
    std::string msg = name + " is readable by every user of this host (mode " + Octal(st.st_mode) +
                      "); chmod o-r " + path;
    if (Sink()) {
      Sink()(msg);
    } else {
      std::fprintf(stderr, "warning: %s\n", msg.c_str());
    }
  }
  return text;
}

}  // namespace firewatch
