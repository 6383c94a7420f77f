// Broken on purpose: calls a FW_REQUIRES helper without the lock.
#include "account.h"

int main() {
  Account a;
  a.AddLocked(1);
  return 0;
}
