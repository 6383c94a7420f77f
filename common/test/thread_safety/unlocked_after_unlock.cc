// Broken on purpose: touches guarded state after MutexLock::Unlock() inside the scope.
#include "account.h"

int main() {
  Account a;
  firewatch::MutexLock lock(a.mu_);
  lock.Unlock();
  a.balance_ = 1;
  lock.Lock();
  return 0;
}
