// Test helper for code that runs on its own threads (probe runner, Alertmanager poster):
// polls a condition until it holds or 5 s of real time passed. Never used to assert that
// something did NOT happen.
#pragma once

#include <chrono>
#include <thread>

namespace firewatch::collector {

template <typename F>
bool Eventually(F cond) {
  using namespace std::chrono_literals;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

}  // namespace firewatch::collector
