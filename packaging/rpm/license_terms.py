"""Reads a spec's License: value on stdin and checks that its top-level AND terms are exactly
the licence summary's lines (cargo2rpm's `# EXPR` lines, in SUMMARY) plus the project's own
licences given as arguments. Exit 1, naming the differences, otherwise.

    rpmspec -q --qf '%{LICENSE}' herald.spec | license_terms.py SUMMARY MIT
"""

import sys


def top_level_terms(expression):
    """Splits on AND outside parentheses; strips one level of parentheses around a term."""
    terms, depth, current = [], 0, []
    for word in expression.replace("(", " ( ").replace(")", " ) ").split():
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        if word == "AND" and depth == 0:
            terms.append(" ".join(current))
            current = []
        else:
            current.append(word)
    terms.append(" ".join(current))
    return {unwrap(t) for t in terms if t}


def unwrap(term):
    if term.startswith("( ") and term.endswith(" )") and balanced(term[2:-2]):
        term = term[2:-2]
    return term.replace("( ", "(").replace(" )", ")")


def balanced(text):
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def main():
    summary_path, *own = sys.argv[1:]
    summary = {
        line[2:].strip()
        for line in open(summary_path, encoding="utf-8")
        if line.startswith("# ") and line[2:].strip()
    }
    want = summary | set(own)
    have = top_level_terms(sys.stdin.read().strip())
    missing, extra = sorted(want - have), sorted(have - want)
    for term in missing:
        print(f"License: lacks {term}", file=sys.stderr)
    for term in extra:
        print(f"License: has {term}, which no dependency uses", file=sys.stderr)
    return 1 if missing or extra else 0


if __name__ == "__main__":
    sys.exit(main())
