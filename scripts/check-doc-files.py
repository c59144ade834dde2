"""Every profiles/ or runs/ file that README.md or docs/*.md names must exist (figures are
backed by committed files). Fenced code blocks hold example commands, not sources, and are
skipped; globs (with *) and templates (with <...>) are not file names."""
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
if missing:
    print("documents name files that do not exist:\n  " + "\n  ".join(missing))
    sys.exit(1)
print("docs: every profiles/ and runs/ file the documents name exists")
