#include "test/smtp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "test/test_http_server.h"

namespace firewatch::alerting::notify::testing {

namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when 127.0.0.1:port accepts a connection and sends a line starting "220"
// within `wait`.
bool Greets(int port, std::chrono::milliseconds wait) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    pollfd p{fd, POLLIN, 0};
    char buf[4] = {0};
    if (poll(&p, 1, static_cast<int>(wait.count())) == 1 && recv(fd, buf, 3, 0) == 3) {
      ok = std::string(buf, 3) == "220";
    }
  }
  close(fd);
  return ok;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "fw-notify-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

TestCert MakeSelfSignedCert(const std::string& dir) {
  TestCert c{dir + "/cert.pem", dir + "/key.pem"};
  bool ok = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout",
                        c.key_file, "-out", c.cert_file},
                       dir + "/openssl.log");
  if (!ok) return {};
  return c;
}

SmtpServer::SmtpServer(const std::string& dir, const SmtpServerOptions& options)
    : maildir_(dir + "/Maildir") {
  if (access(FIREWATCH_AIOSMTPD, X_OK) != 0) {
    error_ = std::string(FIREWATCH_AIOSMTPD) +
             " is missing: install python3-aiosmtpd (scripts/setup does)";
    return;
  }
  for (int attempt = 0; attempt < 5 && !ok_; ++attempt) {
    port_ = UnusedPort();
    std::vector<std::string> argv = {FIREWATCH_AIOSMTPD, "-n", "-l",
                                     "127.0.0.1:" + std::to_string(port_)};
    if (!options.starttls_cert.empty()) {
      argv.insert(argv.end(), {"--tlscert", options.starttls_cert, "--tlskey", options.starttls_key});
    }
    if (!options.smtps_cert.empty()) {
      argv.insert(argv.end(), {"--smtpscert", options.smtps_cert, "--smtpskey", options.smtps_key});
    }
    argv.insert(argv.end(), {"-c", "maildir_handler.MaildirHandler", maildir_});
    if (!options.auth.empty()) argv.push_back(options.auth);
    std::string log = dir + "/aiosmtpd-" + std::to_string(attempt) + ".log";
    process_ = std::make_unique<Subprocess>(
        argv, std::map<std::string, std::string>{{"PYTHONPATH", FIREWATCH_NOTIFY_TESTDATA}}, log);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!process_->Running()) break;  // port taken, bad arguments...: try again / fail
      if (!options.smtps_cert.empty()) {
        // An SMTPS server sends its 220 only after the TLS handshake: accepting is enough.
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        bool up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        close(fd);
        if (up) {
          ok_ = true;
          break;
        }
      } else if (Greets(port_, std::chrono::milliseconds(2000))) {
        ok_ = true;
        break;
      }
      // Nothing to block on until the child binds its socket: poll every 20 ms.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!ok_) {
      error_ = "aiosmtpd did not start on port " + std::to_string(port_) + ":\n" + process_->Log();
      process_->Stop();
    }
  }
}

std::vector<DeliveredMail> SmtpServer::Delivered() const {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(maildir_) / "new", ec)) {
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<DeliveredMail> out;
  for (const auto& f : files) {
    out.push_back({ReadFile(f), ReadFile(fs::path(maildir_) / "envelopes" /
                                         (f.filename().string() + ".json"))});
  }
  return out;
}

}  // namespace firewatch::alerting::notify::testing
