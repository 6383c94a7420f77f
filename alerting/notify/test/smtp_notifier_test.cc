// SmtpNotifier against the real aiosmtpd (python3-aiosmtpd) on loopback. These tests
// FAIL when /usr/bin/aiosmtpd is missing: scripts/setup installs it.
#include "notify/smtp_notifier.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <regex>

#include "firewatch/text/base64.h"
#include "notify/text_util.h"
#include "test/smtp_server.h"
#include "test/test_http_server.h"

namespace firewatch::alerting::notify {
namespace {

using testing::DeliveredMail;
using testing::SmtpServer;
using testing::SmtpServerOptions;
using testing::TempDir;

Notification Note(const std::string& to) {
  Notification n;
  n.incident_id = "K7Q2";
  n.kind = "trigger";
  n.address = to;
  n.subject = "DOWN: db1 in dc1";
  n.text = "db1 has not been heard since 12:00 UTC.\n.\n.leading dot\nRunbook: restart it\n";
  n.ack_url = "https://fw.example/ack/K7Q2?sig=abc";
  return n;
}

SmtpConfig Config(const std::string& url) {
  SmtpConfig c;
  c.url = url;
  c.from = "firewatch@example.com";
  c.from_name = "Firewatch";
  c.starttls = SmtpConfig::StartTls::kOff;
  c.transport.connect_timeout = std::chrono::seconds(2);
  c.transport.timeout = std::chrono::seconds(10);
  return c;
}

std::string Url(const char* scheme, const char* host, int port) {
  return std::string(scheme) + "://" + host + ":" + std::to_string(port);
}

// Header value (first occurrence, unfolded) of a raw CRLF message.
std::string HeaderOf(const std::string& raw, const std::string& name) {
  size_t end = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, end);
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    if (head.compare(pos, name.size() + 2, name + ": ") == 0) {
      std::string value = head.substr(pos + name.size() + 2, eol - pos - name.size() - 2);
      // Unfold continuation lines.
      while (eol + 2 < head.size() && (head[eol + 2] == ' ' || head[eol + 2] == '\t')) {
        size_t next = head.find("\r\n", eol + 2);
        if (next == std::string::npos) next = head.size();
        value += head.substr(eol + 2, next - eol - 2);
        eol = next;
      }
      return value;
    }
    pos = eol + 2;
  }
  return "";
}

std::string BodyOf(const std::string& raw) {
  size_t end = raw.find("\r\n\r\n");
  return end == std::string::npos ? "" : raw.substr(end + 4);
}

std::string DecodeQp(const std::string& qp) {
  std::string out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && i + 2 < qp.size() && qp[i + 1] == '\r' && qp[i + 2] == '\n') {
      i += 2;
    } else if (qp[i] == '=' && i + 2 < qp.size()) {
      out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += qp[i];
    }
  }
  return out;
}

void ExpectAllCrlf(const std::string& raw) {
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      ASSERT_TRUE(i > 0 && raw[i - 1] == '\r') << "bare LF at byte " << i;
    }
  }
  size_t start = 0;
  while (start < raw.size()) {
    size_t eol = raw.find("\r\n", start);
    if (eol == std::string::npos) eol = raw.size();
    EXPECT_LE(eol - start, 998u);
    start = eol + 2;
  }
}

class SmtpNotifierTest : public ::testing::Test {
 protected:
  TempDir dir_;
  SystemClock& clock_ = SystemClock::Instance();
};

TEST_F(SmtpNotifierTest, PlainDeliveryHasExactHeadersCrlfAndBody) {
  SmtpServer server(dir_.path(), {});
  ASSERT_TRUE(server.ok()) << server.error();
  SmtpNotifier notifier("ops-mail", Config(Url("smtp", "127.0.0.1", server.port())), clock_);
  EXPECT_EQ(notifier.name(), "ops-mail");
  EXPECT_EQ(notifier.type(), "smtp");
  Notification n = Note("oncall@example.org");
  n.subject = "Störung: db1 ✓ down";
  SendResult r = notifier.Send(n);
  ASSERT_TRUE(r.ok()) << r.detail;

  auto mails = server.Delivered();
  ASSERT_EQ(mails.size(), 1u);
  const std::string& raw = mails[0].raw;
  ExpectAllCrlf(raw);
  auto env = nlohmann::json::parse(mails[0].envelope_json);
  EXPECT_EQ(env["mail_from"], "firewatch@example.com");
  EXPECT_EQ(env["rcpt_tos"], nlohmann::json::array({"oncall@example.org"}));

  std::tm tm{};
  std::string date = HeaderOf(raw, "Date");
  const char* end = strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S %z", &tm);
  ASSERT_NE(end, nullptr) << date;
  EXPECT_EQ(*end, '\0') << date;
  EXPECT_NEAR(static_cast<double>(timegm(&tm)), static_cast<double>(std::time(nullptr)), 60);
  // Note() has no idempotency key: a random Message-ID (see MessageIdIsDerived...).
  EXPECT_TRUE(std::regex_match(HeaderOf(raw, "Message-ID"), std::regex("<[0-9a-f]{32}@example\\.com>")))
      << HeaderOf(raw, "Message-ID");
  EXPECT_EQ(HeaderOf(raw, "From"), "Firewatch <firewatch@example.com>");
  EXPECT_EQ(HeaderOf(raw, "To"), "oncall@example.org");
  // Non-ASCII subject: RFC 2047 encoded-word(s) of the UTF-8 text.
  EXPECT_EQ(HeaderOf(raw, "Subject"), "=?UTF-8?B?" + text::Base64Std("Störung: db1 ✓ down") + "?=");
  EXPECT_EQ(HeaderOf(raw, "MIME-Version"), "1.0");
  EXPECT_EQ(HeaderOf(raw, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(HeaderOf(raw, "Content-Transfer-Encoding"), "quoted-printable");
  // Lines "." and ".leading dot" survive: curl dot-stuffs, aiosmtpd un-stuffs.
  EXPECT_EQ(DecodeQp(BodyOf(raw)),
            "db1 has not been heard since 12:00 UTC.\r\n.\r\n.leading dot\r\nRunbook: restart "
            "it\r\n\r\nAcknowledge: https://fw.example/ack/K7Q2?sig=abc\r\n");
}

// docs/outbox.md, "Crash semantics": a page sent again after a crash carries the same
// Message-ID, derived from its idempotency key; only a notification without a key gets
// a random one.
TEST_F(SmtpNotifierTest, MessageIdIsDerivedFromTheIdempotencyKey) {
  SmtpServer server(dir_.path(), {});
  ASSERT_TRUE(server.ok()) << server.error();
  SmtpNotifier notifier("ops-mail", Config(Url("smtp", "127.0.0.1", server.port())), clock_);
  Notification n = Note("oncall@example.org");
  n.idempotency_key = "K7Q2/0/1/alice/ops-mail";
  ASSERT_TRUE(notifier.Send(n).ok());
  ASSERT_TRUE(notifier.Send(n).ok());  // the resend
  n.idempotency_key = "K7Q2/0/2/alice/ops-mail";
  ASSERT_TRUE(notifier.Send(n).ok());
  auto mails = server.Delivered();
  ASSERT_EQ(mails.size(), 3u);
  const std::string expected = "<" + MessageIdLocalPart("K7Q2/0/1/alice/ops-mail") + "@example.com>";
  EXPECT_EQ(HeaderOf(mails[0].raw, "Message-ID"), expected);
  EXPECT_EQ(HeaderOf(mails[1].raw, "Message-ID"), expected);
  EXPECT_EQ(HeaderOf(mails[2].raw, "Message-ID"),
            "<" + MessageIdLocalPart("K7Q2/0/2/alice/ops-mail") + "@example.com>");

  // Without a key: random, a new one every time.
  n.idempotency_key.clear();
  const std::string a = HeaderOf(notifier.Render(n), "Message-ID");
  const std::string b = HeaderOf(notifier.Render(n), "Message-ID");
  EXPECT_TRUE(std::regex_match(a, std::regex("<[0-9a-f]{32}@example\\.com>"))) << a;
  EXPECT_NE(a, b);
}

// A hung server (accepts the connection, never says 220) costs one `timeout`, then the
// attempt is Retryable: the channel's timeout bounds an SMTP send like an HTTP one.
TEST_F(SmtpNotifierTest, HungServerTimesOutRetryable) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(fd, 4), 0);  // the kernel completes the handshake; nobody answers
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  SmtpConfig c = Config(Url("smtp", "127.0.0.1", ntohs(addr.sin_port)));
  c.transport.connect_timeout = std::chrono::milliseconds(300);
  c.transport.timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  SendResult r = SmtpNotifier("m", c, clock_).Send(Note("oncall@example.org"));
  const auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  EXPECT_EQ(r.kind, SendResult::Kind::kRetryable) << r.detail;
  EXPECT_NE(r.detail.find("Timeout"), std::string::npos) << r.detail;
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(SmtpNotifierTest, EightBitBodyArrivesVerbatimWithDotLines) {
  SmtpServer server(dir_.path(), {});
  ASSERT_TRUE(server.ok()) << server.error();
  SmtpConfig c = Config(Url("smtp", "127.0.0.1", server.port()));
  c.encoding = TransferEncoding::k8Bit;
  c.from_name = "";
  SmtpNotifier notifier("m", c, clock_);
  Notification n = Note("oncall@example.org");
  n.text = "Ärger im Rechenzentrum\n.\n..two dots\nend";
  n.ack_url.clear();
  SendResult r = notifier.Send(n);
  ASSERT_TRUE(r.ok()) << r.detail;
  auto mails = server.Delivered();
  ASSERT_EQ(mails.size(), 1u);
  ExpectAllCrlf(mails[0].raw);
  EXPECT_EQ(HeaderOf(mails[0].raw, "From"), "firewatch@example.com");
  EXPECT_EQ(HeaderOf(mails[0].raw, "Subject"), "DOWN: db1 in dc1");
  EXPECT_EQ(HeaderOf(mails[0].raw, "Content-Transfer-Encoding"), "8bit");
  EXPECT_EQ(BodyOf(mails[0].raw), "Ärger im Rechenzentrum\r\n.\r\n..two dots\r\nend\r\n");
}

TEST_F(SmtpNotifierTest, StartTlsRequiredWithCustomCaAndAuth) {
  auto cert = testing::MakeSelfSignedCert(dir_.path());
  ASSERT_FALSE(cert.cert_file.empty()) << "openssl req failed";
  SmtpServerOptions o;
  o.starttls_cert = cert.cert_file;
  o.starttls_key = cert.key_file;
  o.auth = "pager:s3cret";
  SmtpServer server(dir_.path(), o);
  ASSERT_TRUE(server.ok()) << server.error();

  SmtpConfig c = Config(Url("smtp", "localhost", server.port()));
  c.starttls = SmtpConfig::StartTls::kRequired;
  c.transport.ca_file = cert.cert_file;
  c.username = "pager";
  c.password = "s3cret";
  SendResult r = SmtpNotifier("m", c, clock_).Send(Note("oncall@example.org"));
  ASSERT_TRUE(r.ok()) << r.detail;
  auto mails = server.Delivered();
  ASSERT_EQ(mails.size(), 1u);
  auto env = nlohmann::json::parse(mails[0].envelope_json);
  EXPECT_EQ(env["tls"], true);
  EXPECT_EQ(env["authenticated"], true);

  // A wrong password is 535: permanent.
  c.password = "wrong";
  r = SmtpNotifier("m", c, clock_).Send(Note("oncall@example.org"));
  EXPECT_EQ(r.kind, SendResult::Kind::kPermanent) << r.detail;
  EXPECT_NE(r.detail.find("535"), std::string::npos) << r.detail;
  EXPECT_EQ(r.detail.find("wrong"), std::string::npos) << "detail leaks the password";

  // Without the CA the self-signed certificate is refused: permanent.
  c.password = "s3cret";
  c.transport.ca_file = "";
  r = SmtpNotifier("m", c, clock_).Send(Note("oncall@example.org"));
  EXPECT_EQ(r.kind, SendResult::Kind::kPermanent) << r.detail;

  // insecure_skip_verify (tests only) accepts it.
  c.transport.insecure_skip_verify = true;
  r = SmtpNotifier("m", c, clock_).Send(Note("oncall@example.org"));
  EXPECT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(server.Delivered().size(), 2u);
}

TEST_F(SmtpNotifierTest, StartTlsOptionalUpgradesWhenOffered) {
  auto cert = testing::MakeSelfSignedCert(dir_.path());
  ASSERT_FALSE(cert.cert_file.empty());
  SmtpServerOptions o;
  o.starttls_cert = cert.cert_file;
  o.starttls_key = cert.key_file;
  SmtpServer server(dir_.path(), o);
  ASSERT_TRUE(server.ok()) << server.error();
  SmtpConfig c = Config(Url("smtp", "localhost", server.port()));
  c.starttls = SmtpConfig::StartTls::kOptional;
  c.transport.ca_file = cert.cert_file;
  SendResult r = SmtpNotifier("m", c, clock_).Send(Note("oncall@example.org"));
  ASSERT_TRUE(r.ok()) << r.detail;
  auto mails = server.Delivered();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(mails[0].envelope_json)["tls"], true);
}

TEST_F(SmtpNotifierTest, StartTlsRequiredButNotOfferedIsPermanent) {
  SmtpServer server(dir_.path(), {});
  ASSERT_TRUE(server.ok()) << server.error();
  SmtpConfig c = Config(Url("smtp", "127.0.0.1", server.port()));
  c.starttls = SmtpConfig::StartTls::kRequired;
  SendResult r = SmtpNotifier("m", c, clock_).Send(Note("oncall@example.org"));
  EXPECT_EQ(r.kind, SendResult::Kind::kPermanent) << r.detail;
  EXPECT_TRUE(server.Delivered().empty());
}

TEST_F(SmtpNotifierTest, ImplicitTlsSmtps) {
  auto cert = testing::MakeSelfSignedCert(dir_.path());
  ASSERT_FALSE(cert.cert_file.empty());
  SmtpServerOptions o;
  o.smtps_cert = cert.cert_file;
  o.smtps_key = cert.key_file;
  SmtpServer server(dir_.path(), o);
  ASSERT_TRUE(server.ok()) << server.error();
  SmtpConfig c = Config(Url("smtps", "localhost", server.port()));
  c.transport.ca_file = cert.cert_file;
  SendResult r = SmtpNotifier("m", c, clock_).Send(Note("oncall@example.org"));
  ASSERT_TRUE(r.ok()) << r.detail;
  auto mails = server.Delivered();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(mails[0].envelope_json)["tls"], true);
}

TEST_F(SmtpNotifierTest, ReplyCodesClassify) {
  SmtpServer server(dir_.path(), {});
  ASSERT_TRUE(server.ok()) << server.error();
  SmtpNotifier notifier("m", Config(Url("smtp", "127.0.0.1", server.port())), clock_);
  SendResult r = notifier.Send(Note("reject@example.org"));
  EXPECT_EQ(r.kind, SendResult::Kind::kPermanent) << r.detail;
  EXPECT_NE(r.detail.find("550"), std::string::npos) << r.detail;
  r = notifier.Send(Note("busy@example.org"));
  EXPECT_EQ(r.kind, SendResult::Kind::kRetryable) << r.detail;
  EXPECT_NE(r.detail.find("451"), std::string::npos) << r.detail;
  EXPECT_TRUE(server.Delivered().empty());
}

TEST_F(SmtpNotifierTest, ServerDownIsRetryable) {
  SmtpNotifier notifier("m", Config(Url("smtp", "127.0.0.1", testing::UnusedPort())), clock_);
  SendResult r = notifier.Send(Note("oncall@example.org"));
  EXPECT_EQ(r.kind, SendResult::Kind::kRetryable) << r.detail;
}

TEST_F(SmtpNotifierTest, BadAddressIsPermanentWithoutConnecting) {
  SmtpNotifier notifier("m", Config(Url("smtp", "127.0.0.1", testing::UnusedPort())), clock_);
  for (const char* bad : {"", "no-at-sign", "a@b\r\nRCPT TO:<x@y>", "<a@b>", "a b@c"}) {
    SendResult r = notifier.Send(Note(bad));
    EXPECT_EQ(r.kind, SendResult::Kind::kPermanent) << bad;
  }
}

}  // namespace
}  // namespace firewatch::alerting::notify
