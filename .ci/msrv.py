#!/usr/bin/env python3
"""Checks the Rust versions this repository states against the locked tree.

- Each published crate's `rust-version` must be at least the highest
  `rust-version` in its own normal dependency tree (the core crate, below,
  and the adapter crates of the workspace).
- The library's `rust-version` (Cargo.toml) must be at least the highest
  `rust-version` declared by any package in its normal (non-dev) dependency
  tree, for every feature: that is what a user building leadroute needs.
- README.md states the version the repository's own commands need (tests,
  examples and benches pull in dev-dependencies such as criterion). It must be
  at least the highest `rust-version` in the whole locked tree.

Reads `cargo metadata` (the lock file's resolution, with each package's
declared rust-version); prints both figures. Exits 1 on a mismatch.
"""
import json
import re
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in v.split(".")[:3]) + (0,) * (3 - len(v.split(".")[:3]))


def show(v):
    return ".".join(str(x) for x in v[:2]) + (f".{v[2]}" if v[2] else "")


host = next(
    l.split(": ", 1)[1]
    for l in subprocess.check_output(["rustc", "-vV"], text=True).splitlines()
    if l.startswith("host: ")
)
meta = json.loads(
    subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked",
         "--filter-platform", host]
    )
)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = next(p for p in meta["packages"] if p["name"] == "leadroute" and p["id"] in meta["workspace_members"])


def closure(start, normal_only):
    seen, todo = set(), [start]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if normal_only and not (kinds & {None, "build"}):
                continue
            if dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    return seen


def highest(ids):
    best = ((0, 0, 0), "-")
    for i in ids:
        p = packages[i]
        if p.get("rust_version") and p["id"] != root["id"]:
            best = max(best, (version(p["rust_version"]), f'{p["name"]} {p["version"]}'))
    return best


declared = version(root["rust_version"])
lib_need, lib_by = highest(closure(root["id"], normal_only=True))
everything = set()
for member in meta["workspace_members"]:
    everything |= closure(member, normal_only=False)
all_need, all_by = highest(everything)
readme = open("README.md", encoding="utf-8").read()
m = re.search(r"tests, examples and benches need Rust (\d+\.\d+)", readme)
stated_dev = version(m.group(1)) if m else None

print(f"library rust-version {show(declared)}; its dependency tree needs {show(lib_need)} ({lib_by})")
print(f"README: tests, examples and benches need {show(stated_dev) if stated_dev else '(not stated)'}; "
      f"the whole locked tree needs {show(all_need)} ({all_by})")
ok = True
# Every other crate of the workspace: its declared version covers its own
# normal dependency tree.
for member in meta["workspace_members"]:
    p = packages[member]
    if p["id"] == root["id"] or p.get("publish") == []:
        continue
    need, by = highest(closure(member, normal_only=True))
    have = version(p["rust_version"]) if p.get("rust_version") else None
    print(f'{p["name"]} rust-version {show(have) if have else "(none)"}; its dependency tree needs {show(need)} ({by})')
    if have is None or need > have:
        print(f'error: {p["name"]} must declare rust-version >= {show(need)} ({by})', file=sys.stderr)
        ok = False
if lib_need > declared:
    print(f"error: Cargo.toml rust-version {show(declared)} is below {show(lib_need)} ({lib_by})", file=sys.stderr)
    ok = False
if stated_dev is None:
    print("error: README.md does not say which Rust the tests, examples and benches need", file=sys.stderr)
    ok = False
elif all_need > stated_dev or declared > stated_dev:
    print(f"error: README.md says {show(stated_dev)}, but the locked tree needs {show(max(all_need, declared))}", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
