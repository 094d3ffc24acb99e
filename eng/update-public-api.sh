#!/usr/bin/env bash
# Adds every public symbol that is missing from a project's PublicAPI.Unshipped.txt (RS0016/RS0017 code fixes).
# Usage: eng/update-public-api.sh [project.csproj ...]   (default: every project under src/)
set -euo pipefail
cd "$(dirname "$0")/.."
projects=("$@")
if [ ${#projects[@]} -eq 0 ]; then mapfile -t projects < <(ls src/*/*.csproj); fi
for p in "${projects[@]}"; do
  dotnet format analyzers "$p" --diagnostics RS0016 RS0017 RS0037 --severity info -v q || true
done
