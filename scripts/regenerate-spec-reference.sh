#!/bin/sh
# Regenerates docs/spec-reference.md from the binders that validate specs (memlab kinds --markdown).
# SpecReferenceTests.Docs_spec_reference_is_the_generated_reference fails until this is run after a kind changes.
set -e
cd "$(dirname "$0")/.."
dotnet run -c Release --project src/MemoryLab.Cli -- kinds --markdown > docs/spec-reference.md.tmp
mv docs/spec-reference.md.tmp docs/spec-reference.md
