// Broken on purpose: calls a FW_EXCLUDES entry point with the lock held (it would
// deadlock on itself at run time).
#include "account.h"

int main() {
  Account a;
  firewatch::MutexLock lock(a.mu_);
  a.Deposit(1);
  return 0;
}
