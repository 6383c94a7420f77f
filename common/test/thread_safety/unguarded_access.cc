// Broken on purpose: writes a FW_GUARDED_BY member without its lock.
#include "account.h"

int main() {
  Account a;
  a.balance_ = 5;
  return 0;
}
