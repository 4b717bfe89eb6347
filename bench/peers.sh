#!/usr/bin/env bash
# On the GPU machine: gathers the pieces of the peers' packages that scripts/peer-wheels made
# (.peers/part-NN-of-MM, carried one or more per device call while the machine stays warm) and,
# once all are there, unpacks them into $GDN_PEERS_STORE/site (default /tmp/gdn-peers) and
# checks that each peer imports; $GDN_PEERS_STORE/env.sh then sets PYTHONPATH for them.
#
#   bash bench/peers.sh            gather what this call carried; unpack and check when complete
#   exit status: 0 complete and importable, 3 pieces still missing, 1 a failure (an import
#   failed, a piece is damaged)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STORE="${GDN_PEERS_STORE:-/tmp/gdn-peers}"
SITE="$STORE/site"
mkdir -p "$STORE/parts"
shopt -s nullglob
for part in "$ROOT"/.peers/part-*-of-*; do
  cp "$part" "$STORE/parts/" || exit 1
done
if [ -f "$ROOT/.peers/manifest.json" ]; then cp "$ROOT/.peers/manifest.json" "$STORE/"; fi
have=("$STORE"/parts/part-*)
if [ ${#have[@]} -eq 0 ]; then echo "peers: no pieces carried yet"; exit 3; fi
total="${have[0]##*-of-}"
total=$((10#$total))
if [ ! -d "$SITE" ]; then
  if [ ${#have[@]} -lt "$total" ]; then
    echo "peers: ${#have[@]} of $total pieces here; carry the rest in the next call"
    exit 3
  fi
  # Checksums from the manifest (carried with every piece).
  if [ -f "$STORE/manifest.json" ]; then
    python3 -c '
import hashlib, json, os, sys
store = sys.argv[1]
for part in json.load(open(os.path.join(store, "manifest.json")))["parts"]:
    path = os.path.join(store, "parts", part["file"])
    h = hashlib.sha256(open(path, "rb").read()).hexdigest()
    name, want = part["file"], part["sha256"]
    if h != want:
        sys.exit(f"peers: {name} is damaged (sha256 {h}, expected {want})")
' "$STORE" || exit 1
  fi
  started=$(date +%s)
  cat "$STORE"/parts/part-* | xz -d -T0 | tar -x -C "$STORE" || { rm -rf "$SITE"; exit 1; }
  echo "peers: unpacked $(du -sm "$SITE" | cut -f1) MiB in $(( $(date +%s) - started )) s"
fi
# PYTHONPATH as site-packages would have it: the folder and what its .pth files add
# (CuTe DSL's packages live in nvidia_cutlass_dsl/dsl_packages), written to $STORE/env.sh.
paths="$(python3 -c "import site, sys; before = list(sys.path); site.addsitedir('$SITE'); print(':'.join(p for p in sys.path if p not in before))")" || exit 1
echo "export PYTHONPATH=$paths\${PYTHONPATH:+:\$PYTHONPATH}" > "$STORE/env.sh"
source "$STORE/env.sh"
python3 -c '
import importlib, time
failed = 0
for module in ("fla", "flash_qla", "flashinfer.gdn_prefill", "flashinfer.gdn_decode"):
    started = time.monotonic()
    try:
        importlib.import_module(module)
        print(f"peers: import {module} ok ({time.monotonic() - started:.1f} s)")
    except Exception as e:
        failed += 1
        print(f"peers: import {module} FAILED: {type(e).__name__}: {e}")
raise SystemExit(1 if failed else 0)
'
status=$?
echo "peers: source $STORE/env.sh  # $(cat "$STORE/env.sh")"
exit $status
