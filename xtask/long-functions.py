#!/usr/bin/env python3
"""Lists the Rust functions longer than a limit, longest first.

    xtask/long-functions.py [--over N] [PATH ...]    (default: 60 lines; src xtask lab)

A function's length is its lines from the `fn` line to its closing brace.
Braces are counted outside strings, chars and comments; a raw string's
hashes are honoured. Test code counts too: a 100-line test is as hard to
read as any other function. Exits 0 whatever it finds: a list to read, not
a gate.
"""

import re
import sys
from pathlib import Path

FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
                r"(?:extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)")


def strip(text):
    """The text with strings, chars and comments blanked, newlines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if text[i] == "\n" else " ")
                    i += 1
        elif (m := re.compile(r'b?r(#*)"').match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), m.end())
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'" and (m := re.compile(r"'(?:\\.[^']*|[^\\'])'").match(text, i)):
            out.append(" " * len(m.group(0)))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """(name, first line, length) for every function with a body in `path`."""
    lines = strip(path.read_text(encoding="utf-8", errors="replace")).split("\n")
    for start, line in enumerate(lines):
        m = FN.match(line)
        if not m:
            continue
        depth, opened = 0, False
        for end in range(start, len(lines)):
            for ch in lines[end]:
                if ch == "{":
                    depth, opened = depth + 1, True
                elif ch == "}":
                    depth -= 1
                elif ch == ";" and not opened and depth == 0:
                    break  # a declaration without a body (a trait's)
            else:
                if opened and depth == 0:
                    yield m.group(1), start + 1, end - start + 1
                    break
                continue
            break


def main(argv):
    over, roots = 60, []
    args = iter(argv)
    for a in args:
        if a == "--over":
            over = int(next(args))
        else:
            roots.append(a)
    roots = roots or ["src", "xtask", "lab"]
    found = []
    for root in roots:
        files = [Path(root)] if root.endswith(".rs") else sorted(Path(root).rglob("*.rs"))
        for f in files:
            if "target" in f.parts:
                continue
            found += [(n, f, line, length) for n, line, length in functions(f) if length > over]
    for name, f, line, length in sorted(found, key=lambda x: (-x[3], str(x[1]))):
        print(f"{length:4}  {f}:{line}  {name}")
    print(f"{len(found)} functions over {over} lines in {' '.join(roots)}")


if __name__ == "__main__":
    main(sys.argv[1:])
