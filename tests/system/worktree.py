#!/usr/bin/python3
"""Checks that running the tests leaves the work tree as it found it (issue #17).

    worktree.py snapshot SOURCE_DIR SNAPSHOT_FILE [EXCLUDE ...]   (ctest: worktree.snapshot)
    worktree.py compare  SOURCE_DIR SNAPSHOT_FILE [EXCLUDE ...]   (ctest: worktree.unchanged)

A snapshot is `git status --porcelain --untracked-files=all --ignored`: every file git would
report, ignored ones included (a test writing into deploy/examples/firewatch-data/ is
caught although .gitignore hides that folder), with a hash of the content of ignored files
(state written into a folder left over from a run by hand is caught too; untracked and
modified sources are compared by status only, so editing them during a run is not). Left out:
the build folders at the top (`build*/`, `.cache/`) and any EXCLUDE path (the CMake binary
dir). `compare` fails listing every path that appeared, disappeared or changed.

Exit status 77 (ctest: skipped) when SOURCE_DIR is not a git checkout (no .git), e.g. an
unpacked release tarball: there is nothing to compare against. Under CI=true that is a
failure instead (exit 1), like every system test that cannot run there.
"""
import hashlib
import os
import subprocess
import sys

SKIP = 77
TOP_LEVEL_BUILD = (":(exclude,top,glob)build*/**", ":(exclude,top,glob).cache/**")


def snapshot(source_dir, excludes):
    if not os.path.exists(os.path.join(source_dir, ".git")):
        print(f"worktree: {source_dir} is not a git checkout (no .git); nothing to check")
        # CI checks out the repository: there, a check that cannot run is a failure, not a
        # silent skip (issue #10).
        if os.environ.get("CI") == "true":
            sys.exit("worktree: a git checkout is required under CI=true")
        sys.exit(SKIP)
    source_dir = os.path.realpath(source_dir)
    pathspec = [".", *TOP_LEVEL_BUILD]
    for path in excludes:
        rel = os.path.relpath(os.path.realpath(path), source_dir)
        if not rel.startswith(".."):
            pathspec.append(f":(exclude,top,glob){rel}/**")
    r = subprocess.run(["git", "-c", f"safe.directory={source_dir}", "-C", source_dir, "status",
                        "--porcelain=v1", "-z", "--untracked-files=all", "--ignored", "--", *pathspec],
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        sys.exit(f"worktree: git status failed: {r.stderr.decode(errors='replace')}")
    entries = {}
    records = r.stdout.split(b"\0")
    i = 0
    while i < len(records):
        record = records[i].decode(errors="surrogateescape")
        i += 1
        if not record:
            continue
        code, path = record[:2], record[3:]
        if code[0] in "RC":   # a rename or copy: the next record is the source path
            path += " <- " + records[i].decode(errors="surrogateescape")
            i += 1
        digest = ""
        if code == "!!":
            full = os.path.join(source_dir, path)
            if os.path.isfile(full) and not os.path.islink(full):
                h = hashlib.sha256()
                with open(full, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                digest = h.hexdigest()
        entries[path] = f"{code} {digest}".rstrip()
    return entries


def write(entries, snapshot_file):
    with open(snapshot_file, "w") as f:
        for path in sorted(entries):
            f.write(f"{entries[path]}\t{path}\n")


def read(snapshot_file):
    entries = {}
    with open(snapshot_file) as f:
        for line in f:
            state, _, path = line.rstrip("\n").partition("\t")
            entries[path] = state
    return entries


def main(argv):
    if len(argv) < 4 or argv[1] not in ("snapshot", "compare"):
        sys.exit(__doc__)
    command, source_dir, snapshot_file, excludes = argv[1], argv[2], argv[3], argv[4:]
    now = snapshot(source_dir, excludes)
    if command == "snapshot":
        write(now, snapshot_file)
        print(f"worktree: {len(now)} entries of `git status` recorded in {snapshot_file}")
        return 0
    if not os.path.exists(snapshot_file):
        print("worktree: no snapshot (the worktree.snapshot test did not run); nothing to compare")
        return 1 if os.environ.get("CI") == "true" else SKIP
    before = read(snapshot_file)
    os.remove(snapshot_file)   # never compare against a stale snapshot
    changed = sorted(p for p in before.keys() | now.keys() if before.get(p) != now.get(p))
    if not changed:
        print(f"worktree: unchanged ({len(now)} entries of `git status`, as before the tests)")
        return 0
    print("worktree: the tests changed the work tree (they must keep state in temporary "
          "directories):")
    for path in changed:
        print(f"  {path}: {before.get(path, 'absent')} -> {now.get(path, 'absent')}")
    print("(an edit made by hand while the tests ran is reported too)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
