"""Every profiles/ or runs/ file that README.md or docs/*.md names must exist (figures are
backed by committed files). Fenced code blocks hold example commands, not sources, and are
skipped; globs (with *) and templates (with <...>) are not file names. A table placed under a
`<!-- table: FILE -->` line must equal FILE's table row for row (generated tables are copied,
never retyped)."""
import glob
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
missing = []
for doc in ["README.md"] + sorted(glob.glob(os.path.join(root, "docs", "*.md"))):
    text = re.sub(r"```.*?```", "", open(os.path.join(root, doc)).read(), flags=re.S)
    for name in sorted(set(re.findall(r"(?<![\w/.-])((?:profiles|runs)/[\w./+*<>-]+)", text))):
        name = name.rstrip(".,;:")
        if "*" in name or "<" in name or name.endswith("/"):
            continue
        if not os.path.exists(os.path.join(root, name)):
            missing.append(f"{os.path.relpath(os.path.join(root, doc), root)}: {name}")
tables = 0
for doc in ["README.md"] + sorted(glob.glob(os.path.join(root, "docs", "*.md"))):
    lines = open(os.path.join(root, doc)).read().split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"<!-- table: (\S+) -->", line.strip())
        if not m:
            continue
        tables += 1
        rows = []
        for row in lines[i + 1:]:
            if not row.startswith("|"):
                break
            rows.append(row.strip())
        source = os.path.join(root, m.group(1))
        want = [r.strip() for r in open(source).read().split("\n") if r.startswith("|")] if os.path.exists(source) else None
        if want != rows:
            missing.append(f"{os.path.relpath(os.path.join(root, doc), root)}: the table under line {i + 1} differs from {m.group(1)}")
if missing:
    print("documents name files that do not exist, or copy tables that differ from them:\n  " + "\n  ".join(missing))
    sys.exit(1)
print(f"docs: every profiles/ and runs/ file the documents name exists; {tables} copied table(s) equal their files")
