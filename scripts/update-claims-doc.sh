#!/usr/bin/env bash
# Regenerates docs/claims.md from a `memlab reproduce` run: the claims table is the claims.md that
# `memlab report` writes into the results folder, copied verbatim (its heading one level down), so no
# number in the doc is typed by hand.
#   scripts/update-claims-doc.sh [RESULTS_DIR] [EXPERIMENT…]
# With no experiment names it runs zucchet24-signal-propagation; with RESULTS_DIR holding a finished
# reproduction (RESULTS_DIR/claims.md exists) and no names, it only copies.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/r}
shift || true
names=("$@")
memlab=(dotnet run -c Release --project src/MemoryLab.Cli --)
command -v memlab >/dev/null 2>&1 && memlab=(memlab)

if [ ${#names[@]} -gt 0 ] || [ ! -f "$out/claims.md" ]; then
  [ ${#names[@]} -gt 0 ] || names=(zucchet24-signal-propagation)
  "${memlab[@]}" reproduce --only "${names[@]}" --out "$out"
  ran="memlab reproduce --only ${names[*]} --out $out"
else
  ran="memlab report $out (on an earlier reproduction)"
  "${memlab[@]}" report "$out" >/dev/null
fi

{
  cat <<HEADER
# Paper claims and their measured status

MemoryLab's reproductions check the papers' claims against the numbers they measure. \`memlab report\`
(which \`memlab reproduce\` runs at the end) writes the table into the results folder as \`claims.md\`
(and \`claims.json\`, and the same table at the top of \`report.html\`): each claim, the value measured in
that run, the range the claim allows, and whether it holds (✓ holds, ✗ fails, ? inconclusive: the
measurement cannot decide, e.g. NaN, too few runs, within noise), with its kind (a claim of a paper, or a
numerical check of our own) and its source in the paper. Each reproduction's spec
(experiments/reproduce/NAME/common.yaml) states its claims, their sources and their tests; the report step
only measures. A claim that does not reproduce once the set-up matches the authors' carries the evidence
(its spec's \`not_reproduced:\`, listed under "Not reproduced" below the table); the status is still the
measurement's. The numbers below are copied from a run, not typed.

The table below was generated on $(date -u +%Y-%m-%d) by \`scripts/update-claims-doc.sh\`, which ran

    $ran

and copied \`$out/claims.md\`. To check the claims on your machine, run \`memlab reproduce\` (all
experiments, quick scale; \`--scale paper\` for the papers' settings) and open \`results/claims.md\`.

HEADER
  sed -e 's/^#/##/' "$out/claims.md"
} > docs/claims.md
echo "wrote docs/claims.md from $out/claims.md"
