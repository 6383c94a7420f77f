#include "firewatch/secret_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "firewatch/protocol/keyring.h"

namespace firewatch {
namespace {

namespace fs = std::filesystem;

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fw-secret-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    SetSecretFileWarningSink([this](const std::string& m) { warnings_.push_back(m); });
  }
  void TearDown() override {
    SetSecretFileWarningSink(nullptr);
    fs::remove_all(dir_);
  }
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  fs::path dir_;
  std::vector<std::string> warnings_;
};

TEST_F(SecretFileTest, ReadsAPrivateFileWholeAndQuietly) {
  auto path = Write("k", "secret\n", 0600);
  auto text = ReadSecretFile(path, "cluster key");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "secret\n");
  EXPECT_TRUE(warnings_.empty());
  // Group read is the recommended layout (root:firewatch 0640): no warning either.
  ::chmod(path.c_str(), 0640);
  ASSERT_TRUE(ReadSecretFile(path, "cluster key").ok());
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(SecretFileTest, MissingFileIsNotFoundNamingTheFileAndWhatItIs) {
  auto text = ReadSecretFile((dir_ / "absent").string(), "Twilio auth token");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Status::Code::kNotFound);
  EXPECT_NE(text.status().message().find("Twilio auth token file " + (dir_ / "absent").string()),
            std::string::npos)
      << text.status().message();
}

TEST_F(SecretFileTest, LargerThanTheLimitIsRefusedNamingTheFile) {
  auto path = Write("big", std::string(kMaxSecretFileBytes + 1, 'a'));
  auto text = ReadSecretFile(path, "key");
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find(path), std::string::npos);
  EXPECT_NE(text.status().message().find("larger than 65536 bytes"), std::string::npos)
      << text.status().message();
  EXPECT_TRUE(ReadSecretFile(Write("exact", std::string(100, 'a')), "key", 100).ok());
  EXPECT_FALSE(ReadSecretFile(Write("over", std::string(101, 'a')), "key", 100).ok());
}

TEST_F(SecretFileTest, DevicesDirectoriesAndFifosAreRefusedWithoutHanging) {
  // /dev/zero would never end; a FIFO without a writer would block the open or the read.
  for (const std::string& path : {std::string("/dev/zero"), dir_.string()}) {
    auto text = ReadSecretFile(path, "key");
    ASSERT_FALSE(text.ok()) << path;
    EXPECT_NE(text.status().message().find(path), std::string::npos);
  }
  std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto text = ReadSecretFile(fifo, "key");
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("not a regular file"), std::string::npos);
}

TEST_F(SecretFileTest, WritableByGroupOrOthersIsRefused) {
  for (mode_t mode : {0620, 0602, 0666}) {
    auto path = Write("w" + std::to_string(mode), "secret", mode);
    auto text = ReadSecretFile(path, "operators");
    ASSERT_FALSE(text.ok()) << std::oct << mode;
    EXPECT_NE(text.status().message().find("writable by"), std::string::npos);
    EXPECT_NE(text.status().message().find("chmod go-w " + path), std::string::npos)
        << text.status().message();
  }
}

TEST_F(SecretFileTest, ReadableByEveryoneIsAcceptedWithAWarningNamingTheFile) {
  auto path = Write("k", "secret", 0644);
  auto text = ReadSecretFile(path, "key");
  ASSERT_TRUE(text.ok());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find(path), std::string::npos);
  EXPECT_NE(warnings_[0].find("0644"), std::string::npos);
  EXPECT_NE(warnings_[0].find("chmod o-r"), std::string::npos);
}

TEST_F(SecretFileTest, KeyringReadsKeysThroughIt) {
  protocol::Keyring ring;
  Status s = ring.AddFromFile("k", Write("huge.key", std::string(100000, 'a')));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("larger than"), std::string::npos);
  s = ring.AddFromFile("k", Write("open.key", "00112233445566778899aabbccddeeff\n", 0666));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("writable by others"), std::string::npos) << s.message();
  EXPECT_TRUE(ring.AddFromFile("k", Write("ok.key", "00112233445566778899aabbccddeeff\n")).ok());
}

}  // namespace
}  // namespace firewatch
