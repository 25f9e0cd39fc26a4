#!/usr/bin/env bash
# Installs cargo-fuzz if needed and fuzzes both targets for $1 seconds each
# (default 600). Needs a nightly toolchain: `rustup toolchain install nightly`
# where one can be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in scenario manifest; do
  # The working corpus grows in fuzz/corpus (not committed); fuzz/seeds
  # holds the inputs kept: the smallest of each minimized corpus.
  mkdir -p "fuzz/corpus/$target"
  cargo +nightly fuzz run -O "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1
done
