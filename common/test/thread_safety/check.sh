#!/bin/sh
# A compile check of the lock rules (firewatch/sync/mutex.h), run by ctest:
#   check.sh pass|fail <clang++> <include dir> <snippet.cc>
# `fail`: the snippet must be rejected by Clang's thread-safety analysis (not by any other
# error). `pass`: it must compile cleanly. Exits 77 (ctest: skipped) without clang++.
expect=$1 cxx=$2 inc=$3 src=$4
if [ -z "$cxx" ] || ! command -v "$cxx" >/dev/null 2>&1; then
  echo "clang++ not found: skipped"
  exit 77
fi
out=$("$cxx" -std=c++20 -fsyntax-only -Wthread-safety -Werror=thread-safety -I"$inc" \
  -I"$(dirname "$src")" "$src" 2>&1)
rc=$?
echo "$out"
case $expect in
  pass)
    [ $rc -eq 0 ] || { echo "FAIL: $src should compile"; exit 1; } ;;
  fail)
    [ $rc -ne 0 ] || { echo "FAIL: $src compiled; the thread-safety check missed it"; exit 1; }
    echo "$out" | grep -q 'error: .*\[-Werror,-Wthread-safety' ||
      { echo "FAIL: $src was rejected, but not by -Wthread-safety"; exit 1; } ;;
esac
echo "ok: $src ($expect as expected)"
