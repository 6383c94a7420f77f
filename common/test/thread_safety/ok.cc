// Every rule kept: must compile with -Werror=thread-safety (the control for the others).
#include <chrono>

#include "account.h"

int main() {
  Account a;
  a.Deposit(1);
  {
    firewatch::MutexLock lock(a.mu_);
    a.AddLocked(1);
    lock.Unlock();
    lock.Lock();
    a.changed_.WaitFor(a.mu_, std::chrono::milliseconds(1),
                       [&a]() FW_REQUIRES(a.mu_) { return a.balance_ > 1; });
  }
  return a.Balance() == 2 ? 0 : 1;
}
