# bench/lib.sh: shell helpers shared by bench/run.sh and bench/suite.sh (sourced, not run).

# splice_section FILE NAME CONTENT_FILE: replaces the lines between "<!-- NAME begin -->" and "<!-- NAME end -->"
# in FILE with CONTENT_FILE, leaving the rest of FILE as it is. Without the markers the section (with them) goes
# after FILE's first line (its "# Benchmarks" title); without FILE, FILE is the title and the section.
splice_section() {
  local file="$1" name="$2" content="$3" tmp
  tmp="$(mktemp "$file.XXXXXX")"
  if [ -f "$file" ] && grep -qxF "<!-- $name begin -->" "$file" && grep -qxF "<!-- $name end -->" "$file"; then
    awk -v b="<!-- $name begin -->" -v e="<!-- $name end -->" -v c="$content" '
      $0 == b { print; while ((getline l < c) > 0) print l; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$file" >"$tmp"
  elif [ -f "$file" ]; then
    { head -n 1 "$file"; echo; echo "<!-- $name begin -->"; cat "$content"; echo "<!-- $name end -->"; tail -n +2 "$file"; } >"$tmp"
  else
    { echo "# Benchmarks"; echo; echo "<!-- $name begin -->"; cat "$content"; echo "<!-- $name end -->"; } >"$tmp"
  fi
  mv "$tmp" "$file"
}
