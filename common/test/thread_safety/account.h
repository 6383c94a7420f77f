// A tiny class with a lock rule, shared by the thread-safety compile checks in this
// folder: each snippet uses it correctly (ok.cc) or breaks one rule on purpose.
#pragma once

#include "firewatch/sync/mutex.h"

class Account {
 public:
  void Deposit(int amount) FW_EXCLUDES(mu_) {
    firewatch::MutexLock lock(mu_);
    AddLocked(amount);
  }
  int Balance() FW_EXCLUDES(mu_) {
    firewatch::MutexLock lock(mu_);
    return balance_;
  }

  firewatch::Mutex mu_;
  int balance_ FW_GUARDED_BY(mu_) = 0;
  void AddLocked(int amount) FW_REQUIRES(mu_) { balance_ += amount; }
  firewatch::CondVar changed_;
};
