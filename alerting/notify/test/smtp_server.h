// The real SMTP server for notifier tests: /usr/bin/aiosmtpd on 127.0.0.1 with the
// Maildir handler in testdata/maildir_handler.py, stopped by pid when destroyed.
//
// aiosmtpd's CLI cannot listen on port 0, so a free port is picked by binding and
// closing a socket, and the start is retried on a collision. Readiness is polled (the
// port accepts a connection and the server says 220) with a deadline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "test/subprocess.h"

namespace firewatch::alerting::notify::testing {

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A self-signed certificate for CN=localhost (SAN localhost, 127.0.0.1), made with the
// openssl CLI. Empty paths when openssl failed.
struct TestCert {
  std::string cert_file;
  std::string key_file;
};
TestCert MakeSelfSignedCert(const std::string& dir);

struct SmtpServerOptions {
  std::string starttls_cert;  // with starttls_key: offer STARTTLS (and require it)
  std::string starttls_key;
  std::string smtps_cert;     // with smtps_key: implicit TLS on the port
  std::string smtps_key;
  std::string auth;           // "user:password": AUTH PLAIN required before MAIL
};

struct DeliveredMail {
  std::string raw;            // the file's bytes, as received after DATA
  std::string envelope_json;  // {"mail_from","rcpt_tos","authenticated","tls"}
};

class SmtpServer {
 public:
  // Starts the server in `dir` (maildir at dir/Maildir). Check ok() (and error()).
  SmtpServer(const std::string& dir, const SmtpServerOptions& options);
  ~SmtpServer() = default;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // Delivered messages, oldest first.
  std::vector<DeliveredMail> Delivered() const;

 private:
  std::unique_ptr<Subprocess> process_;
  std::string maildir_;
  int port_ = 0;
  bool ok_ = false;
  std::string error_;
};

}  // namespace firewatch::alerting::notify::testing
