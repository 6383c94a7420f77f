#include "notify/channel_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "notify/factory.h"

namespace firewatch::alerting::notify {
namespace {

namespace fs = std::filesystem;

std::string Fixture(const std::string& name) {
  return std::string(FIREWATCH_NOTIFY_TESTDATA) + "/" + name;
}

TEST(ChannelConfigTest, GoodFixturesLoad) {
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(Fixture("good"))) {
    if (entry.path().extension() != ".yml") continue;
    auto c = LoadChannelsFile(entry.path().string());
    EXPECT_TRUE(c.ok()) << entry.path() << ": " << c.status().message();
    ++loaded;
  }
  EXPECT_GE(loaded, 2);
}

TEST(ChannelConfigTest, AllTypesParseWithSecretsAndDefaults) {
  auto c = LoadChannelsFile(Fixture("good/all_types.yml"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->size(), 6u);
  const auto& smtp = std::get<SmtpConfig>((*c)[0].settings);
  EXPECT_EQ((*c)[0].name, "ops-mail");
  EXPECT_EQ((*c)[0].type, "smtp");
  EXPECT_EQ(smtp.url, "smtp://mail.example.com:587");
  EXPECT_EQ(smtp.starttls, SmtpConfig::StartTls::kRequired);
  EXPECT_EQ(smtp.password, "hunter2");
  EXPECT_EQ(smtp.encoding, TransferEncoding::k8Bit);
  EXPECT_EQ(smtp.transport.timeout, std::chrono::seconds(20));
  EXPECT_EQ(smtp.transport.connect_timeout, std::chrono::seconds(3));
  const auto& relay = std::get<SmtpConfig>((*c)[1].settings);
  EXPECT_EQ(relay.transport.timeout, std::chrono::seconds(10));
  EXPECT_EQ(relay.transport.connect_timeout, std::chrono::seconds(5));
  const auto& tw = std::get<TwilioConfig>((*c)[2].settings);
  EXPECT_EQ(tw.auth_token, "tw-token");
  EXPECT_EQ(tw.base_url, "https://api.twilio.com");
  EXPECT_EQ(tw.from, "+15017122661");
  ASSERT_TRUE((*c)[2].rate_limit.has_value());
  EXPECT_EQ((*c)[2].rate_limit->count, 100);
  EXPECT_EQ((*c)[2].rate_limit->per, std::chrono::minutes(1));
  ASSERT_TRUE((*c)[3].rate_limit.has_value());  // flow style
  EXPECT_EQ((*c)[3].rate_limit->count, 5);
  EXPECT_EQ((*c)[3].rate_limit->per, std::chrono::hours(1));
  EXPECT_FALSE((*c)[0].rate_limit.has_value());
  const auto& gw = std::get<HttpSmsConfig>((*c)[3].settings);
  EXPECT_EQ(gw.body_encoding, HttpSmsConfig::BodyEncoding::kJson);
  EXPECT_EQ(gw.success_status, (std::vector<long>{200, 202}));
  EXPECT_EQ(gw.bearer_token, "hook-token");
  EXPECT_EQ(gw.headers.at("X-Api-Version"), "2");
  const auto& hook = std::get<WebhookConfig>((*c)[4].settings);
  EXPECT_EQ(hook.bearer_token, "hook-token");
  const auto& pd = std::get<PagerDutyConfig>((*c)[5].settings);
  EXPECT_EQ(pd.routing_key, "R0UTINGKEY");
  EXPECT_EQ(pd.base_url, "https://events.pagerduty.com");
  EXPECT_EQ(pd.severity, "error");

  auto notifiers = MakeNotifiers(*c, SystemClock::Instance());
  ASSERT_EQ(notifiers.size(), 6u);
  const char* types[] = {"smtp", "smtp", "twilio", "http_sms", "webhook", "pagerduty"};
  for (size_t i = 0; i < notifiers.size(); ++i) {
    EXPECT_EQ(notifiers[i]->name(), (*c)[i].name);
    EXPECT_EQ(notifiers[i]->type(), types[i]);
  }
}

// Each bad fixture starts with "# expect: LINE: fragment" lines; every fragment must
// appear as "<file>:LINE: fragment" in the error. Secrets never appear in messages.
TEST(ChannelConfigTest, BadFixturesFailWithFileLineAndReason) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(Fixture("bad"))) {
    if (entry.path().extension() != ".yml") continue;
    std::ifstream in(entry.path());
    std::string line;
    std::vector<std::string> expects;
    while (std::getline(in, line) && line.rfind("# expect: ", 0) == 0) {
      expects.push_back(line.substr(10));
    }
    ASSERT_FALSE(expects.empty()) << entry.path() << " has no '# expect:' line";
    auto c = LoadChannelsFile(entry.path().string());
    ASSERT_FALSE(c.ok()) << entry.path() << " should fail";
    for (const auto& e : expects) {
      std::string want = entry.path().string() + ":" + e;
      EXPECT_NE(c.status().message().find(want), std::string::npos)
          << "want: " << want << "\ngot:\n" << c.status().message();
    }
    EXPECT_EQ(c.status().message().find("tw-token"), std::string::npos) << "secret leaked";
    ++checked;
  }
  EXPECT_GE(checked, 9);
}

// Secret files in a temporary directory, with the modes the test gives them.
class SecretFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fw-channel-secrets-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text,
                    fs::perms mode = fs::perms(0600)) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    fs::permissions(p, mode);
    return p.string();
  }
  Result<std::vector<ChannelConfig>> Load(const std::string& twilio_extra) {
    return LoadChannelsFile(Write("channels.yml",
                                  "channels:\n"
                                  "  - name: sms\n"
                                  "    type: twilio\n"
                                  "    account_sid: AC1\n"
                                  "    from: \"+15017122661\"\n"
                                  "    auth_token_file: new.token\n" +
                                      twilio_extra));
  }
  fs::path dir_;
};

TEST_F(SecretFilesTest, TwilioPreviousTokensAreReadForTheInboundWebhookOnly) {
  Write("new.token", "new-token\n");
  Write("old.token", "old-token\n");
  auto c = Load("    auth_token_previous_files: [old.token]\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const auto& tw = std::get<TwilioConfig>((*c)[0].settings);
  EXPECT_EQ(tw.auth_token, "new-token");
  EXPECT_EQ(tw.previous_auth_tokens, std::vector<std::string>{"old-token"});

  auto missing = Load("    auth_token_previous_files: [gone.token]\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("channels[0].auth_token_previous_files[0]: cannot read "
                                            "secret file " +
                                            (dir_ / "gone.token").string()),
            std::string::npos)
      << missing.status().message();
  EXPECT_FALSE(Load("    auth_token_previous_files: old.token\n").ok());
}

TEST_F(SecretFilesTest, WritableOrHugeSecretFilesAreRefusedNamingTheFile) {
  Write("new.token", "new-token\n", fs::perms(0660));
  auto c = Load("");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("secret file " + (dir_ / "new.token").string() +
                                      " is writable by its group"),
            std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().message().find("new-token"), std::string::npos) << "secret leaked";
  Write("new.token", std::string(100000, 'x'));
  c = Load("");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("is larger than 65536 bytes"), std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace firewatch::alerting::notify
