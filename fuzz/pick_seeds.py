#!/usr/bin/env python3
"""Lazy greedy set cover over a libFuzzer -set_cover_merge=1 control file
(FT lines then hold every feature of each input): keep every existing seed,
then add the corpus input bringing the most features not yet covered (ties:
the smaller input) until MAX_FILES, MAX_BYTES or no gain.
Usage: pick_seeds.py CONTROL_FILE SEED_DIR OUT_LIST MAX_FILES MAX_BYTES"""
import heapq, os, sys
cf, seed_dir, out, max_files, max_bytes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lines = open(cf).read().split('\n')
n = int(lines[0]); files = lines[2:2 + n]
feats = {}
for l in lines[2 + n:]:
    p = l.split()
    if p and p[0] == 'FT':
        feats[int(p[1])] = frozenset(map(int, p[2:]))
seed_dir = os.path.realpath(seed_dir)
is_seed = [os.path.realpath(f).startswith(seed_dir + '/') for f in files]
covered = set()
for i in range(n):
    if is_seed[i]:
        covered |= feats.get(i, frozenset())
all_ft = set()
for s in feats.values():
    all_ft |= s
seed_ft = len(covered)
size = {i: os.path.getsize(files[i]) for i in feats}
heap = [(-len(feats[i] - covered), size[i], i) for i in feats if not is_seed[i]]
heapq.heapify(heap)
picked, total = [], 0
while heap and len(picked) < max_files:
    neg, sz, i = heapq.heappop(heap)
    gain = len(feats[i] - covered)
    if gain == 0:
        continue
    if heap and -gain > heap[0][0]:          # stale bound: push back
        heapq.heappush(heap, (-gain, sz, i)); continue
    if total + sz > max_bytes:
        continue
    picked.append(i); total += sz; covered |= feats[i]
open(out, 'w').write(''.join(files[i] + '\n' for i in picked))
print(f"inputs {n} (seeds {sum(is_seed)}), features: all {len(all_ft)}, seeds {seed_ft}, "
      f"seeds+picked {len(covered)} ({100*len(covered)/max(1,len(all_ft)):.1f}%), picked {len(picked)} files {total} bytes")
