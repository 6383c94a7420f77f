#include "ingest/udp_receiver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

namespace firewatch::collector {
namespace {

void SendTo(uint16_t port, const std::vector<uint8_t>& data) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(data.size()));
  close(fd);
}

TEST(UdpReceiverTest, ReceivesBatchesAndMarksOversize) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  std::vector<size_t> sizes;
  std::vector<size_t> batch_sizes;
  std::string from;
  UdpReceiver rx(&loop, [&](std::span<const UdpReceiver::Datagram> batch) {
    batch_sizes.push_back(batch.size());
    for (const auto& d : batch) {
      sizes.push_back(d.bytes.size());
      from = AddressText(*d.from);
    }
  });
  ASSERT_TRUE(rx.Bind({"127.0.0.1", 0}).ok());
  ASSERT_NE(rx.port(), 0);
  const size_t kCount = 150;  // more than two recvmmsg batches
  for (size_t i = 0; i < kCount; ++i) SendTo(rx.port(), std::vector<uint8_t>(100, 1));
  SendTo(rx.port(), std::vector<uint8_t>(5000, 2));
  // Loopback delivery is synchronous: everything is queued before the loop runs.
  for (int i = 0; i < 100 && sizes.size() < kCount + 1; ++i) uv_run(&loop, UV_RUN_NOWAIT);
  ASSERT_EQ(sizes.size(), kCount + 1);
  EXPECT_EQ(sizes[0], 100u);
  EXPECT_EQ(sizes.back(), UdpReceiver::kSlotSize) << "oversize datagrams arrive cut at 1201 bytes";
  EXPECT_EQ(from.rfind("127.0.0.1:", 0), 0u);
  EXPECT_GE(rx.batches(), 3u);
  ASSERT_GE(batch_sizes.size(), 3u);
  EXPECT_EQ(batch_sizes[0], UdpReceiver::kBatch) << "one handler call per recvmmsg batch";
  EXPECT_EQ(rx.datagrams(), kCount + 1);
  rx.Close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0) << "no handle leaked";
}

// A burst that overflows the socket buffer is counted at once, without waiting for the
// next datagram to carry SO_RXQ_OVFL (the counter would otherwise stay low until then).
TEST(UdpReceiverTest, CountsKernelDropsRightAfterABurst) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  UdpReceiver rx(&loop, [](std::span<const UdpReceiver::Datagram>) {});
  ASSERT_TRUE(rx.Bind({"127.0.0.1", 0}, /*rcvbuf_bytes=*/4096).ok());
  EXPECT_EQ(rx.kernel_drops(), 0u);
  for (int i = 0; i < 2000; ++i) SendTo(rx.port(), std::vector<uint8_t>(1000, 1));
  EXPECT_GT(rx.kernel_drops(), 0u) << "a 4 KiB buffer cannot hold 2000 datagrams";
  rx.Close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// The buffer is what absorbs bursts. As root (CI, packaged service with CAP_NET_ADMIN)
// the configured size is granted beyond net.core.rmem_max; otherwise it is capped, and
// receive_buffer_bytes() says so.
TEST(UdpReceiverTest, ReportsTheReceiveBufferItGot) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  UdpReceiver rx(&loop, [](std::span<const UdpReceiver::Datagram>) {});
  const int want = 48 << 20;
  ASSERT_TRUE(rx.Bind({"127.0.0.1", 0}, want).ok());
  if (geteuid() == 0) {
    EXPECT_GE(rx.receive_buffer_bytes(), want) << "SO_RCVBUFFORCE as root";
    EXPECT_LT(rx.receive_buffer_bytes(), 2 * want)
        << "the grant, comparable with the request, not the kernel's doubled accounting";
  } else {
    EXPECT_GT(rx.receive_buffer_bytes(), 0);
  }
  rx.Close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(UdpReceiverTest, RefusesHostNamesAndBusyPorts) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  UdpReceiver a(&loop, [](auto) {});
  EXPECT_FALSE(a.Bind({"localhost", 0}).ok());
  ASSERT_TRUE(a.Bind({"127.0.0.1", 0}).ok());
  UdpReceiver b(&loop, [](auto) {});
  Status s = b.Bind({"127.0.0.1", a.port()});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(a.port())), std::string::npos);
  a.Close();
  b.Close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace firewatch::collector
