#!/usr/bin/python3
"""match.py: compare what kubectl printed with the output expected of it (stdlib only).

  match.py text  EXPECTED OUTPUT [--minor N] [-D NAME=VALUE]... [-R NAME=REGEX]...
  match.py table EXPECTED OUTPUT [--minor N] [-D NAME=VALUE]... [-R NAME=REGEX]...

EXPECTED is a file. Exit 0 on a match; otherwise the reason, the output and the expectation go
to stderr and the exit code is 1.

In both forms
  - a line starting "##" is a comment and is dropped;
  - a line starting "[v>=31] " (also <=, <, >, ==, or a range "[v27-30] ") is kept only when
    the kubectl minor version given with --minor satisfies it;
  - {{NAME}} stands for a volatile value, matched by a pattern of PATTERNS below, by a literal
    given with -D NAME=VALUE or by a regex given with -R NAME=REGEX; {{RE:regex}} is an inline
    regex (without "}}" or "|"); {{SP:n}} is n spaces (trailing spaces an editor would strip);
    {{TAB}} is a tab.

text: each output line matches its template line as a whole, in order, and nothing is left
over. A template line ending in " {{+}}" stands for one or more such lines, " {{*}}" for zero or
more (taken greedily). With "#tabbed" as the first line, "|" separates the cells that kubectl
describe hands its tab writer (text/tabwriter: minimum width 0, padding 2, as describe.go
tabbedString sets it up); one space on each side of a "|" belongs to the separator, so
"  Type | Reason" is the cells "  Type" and "Reason" and "| value" starts with an empty cell.
The cells are read back from the output, and the output must be exactly what the tab writer
makes of them: alignment and padding are checked, not only contents.

table: the output is one or more tables of kubectl get, printed by cli-runtime's tab writer
(printers.GetNewTabWriter: minimum width 6, padding 3; each kind's table starts afresh, get.go
SetRememberedWidths(nil)) and separated by blank lines. EXPECTED holds the same tables, cells
separated by "|" and stripped, a blank line between tables, each with its header first. The
cells are cut out of the output at the header's column offsets and the output must be exactly
what the tab writer makes of them. "#subset" as the first line lets the output have rows the
expectation does not list (found by their first cell, in order); "#unordered" takes the rows in
any order (each output row matches a different expected row), for names whose random suffixes
decide the order.
"""
import re
import sys

PATTERNS = {
    # apimachinery duration.HumanDuration
    "AGE": r"(?:[0-9]+s|[0-9]+m(?:[0-9]+s)?|[0-9]+h(?:[0-9]+m)?|[0-9]+d(?:[0-9]+h)?"
           r"|[0-9]+y(?:[0-9]+d)?)",
    # a ClusterIP from the default 10.96.0.0/12
    "CIP": r"10\.(?:9[6-9]|10[0-9]|11[01])\.[0-9]{1,3}\.[0-9]{1,3}",
    # a pod address from the default pod CIDR 10.244.0.0/16
    "PODIP": r"10\.244\.[0-9]{1,3}\.[0-9]{1,3}",
    # one entry of an Endpoints cell: a pod address and a port
    "PODEP": r"10\.244\.[0-9]{1,3}\.[0-9]{1,3}:[0-9]+",
    "IP": r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}",
    # the 5 characters generateName appends (apimachinery util/rand.String's alphabet)
    "SFX": r"[bcdfghjklmnpqrstvwxz2456789]{5}",
    # a nodePort from the default range 30000-32767
    "NP": r"(?:30[0-9]{3}|3[12][0-9]{3})",
    "UID": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    # a machine's SMBIOS product UUID (/sys/class/dmi/id/product_uuid), in either case
    "SYSUUID": r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    "TS": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
    # the time format of kubectl describe (RFC 1123 with a numeric zone)
    "DATE": r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
            r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
            r"[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}",
    "RV": r"[1-9][0-9]*",
    "GITCOMMIT": r"[0-9a-f]{40}",
    # what an Event's name adds to its object's name: the time in hex nanoseconds
    "EVSFX": r"[0-9a-f]{16}",
    # a Go time.Duration as String() prints it
    "DUR": r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|µs|ms|s)|[0-9]+m[0-9]+(?:\.[0-9]+)?s"
           r"|[0-9]+h[0-9]+m[0-9]+(?:\.[0-9]+)?s)",
    "NUM": r"[0-9]+",
    "HEX": r"[0-9a-f]+",
    "WORD": r"\S+",
    "TEXT": r"\S.*",
    "ANY": r".*",
}

COND_RE = re.compile(r"^\[v(?:(>=|<=|<|>|==)([0-9]+)|([0-9]+)-([0-9]+))\] ?")
PH_RE = re.compile(r"\{\{([A-Z][A-Z0-9_]*|RE:.*?|SP:[0-9]+)\}\}")


def keep_line(line, minor):
    m = COND_RE.match(line)
    if not m:
        return True, line
    if minor is None:
        sys.exit("match.py: a version condition needs --minor")
    op, n, lo, hi = m.groups()
    if op:
        n = int(n)
        ok = {">=": minor >= n, "<=": minor <= n, "<": minor < n, ">": minor > n,
              "==": minor == n}[op]
    else:
        ok = int(lo) <= minor <= int(hi)
    return ok, line[m.end():]


def load(path, minor):
    lines = []
    with open(path) as f:
        for line in f.read().split("\n"):
            if line.startswith("##"):
                continue
            ok, line = keep_line(line, minor)
            if ok:
                lines.append(line)
    # the file's final newline ends its last line; blank lines before it are expected output
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def to_regex(text, defs):
    parts = []
    pos = 0
    for m in PH_RE.finditer(text):
        parts.append(re.escape(text[pos:m.start()]))
        name = m.group(1)
        if name.startswith("RE:"):
            parts.append("(?:" + name[3:] + ")")
        elif name.startswith("SP:"):
            parts.append(" " * int(name[3:]))
        elif name == "TAB":
            parts.append("\t")
        elif name in defs:
            parts.append(defs[name])
        elif name in PATTERNS:
            parts.append(PATTERNS[name])
        else:
            sys.exit("match.py: unknown placeholder {{%s}}" % name)
        pos = m.end()
    parts.append(re.escape(text[pos:]))
    return "".join(parts)


def out_lines(path):
    with open(path, errors="replace") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def show(out, want, why):
    print("MISMATCH: " + why, file=sys.stderr)
    print("--- output:", file=sys.stderr)
    for line in out:
        print("  |" + line.replace("\t", "\\t"), file=sys.stderr)
    print("--- expected:", file=sys.stderr)
    for line in want:
        print("  |" + line.replace("\t", "\\t"), file=sys.stderr)
    return 1


def go_tabwriter(lines, minwidth, padding):
    """Go's text/tabwriter (and liggitt/tabwriter without remembered widths) over lines given
    as lists of cells, the last cell of a line being the text after its last tab: a column is
    a run of consecutive lines that have a tab-terminated cell in it, as wide as its widest
    cell plus padding and at least minwidth (tabwriter.go format and writeLines)."""
    out = []
    widths = []

    def write_lines(line0, line1):
        for cells in lines[line0:line1]:
            out.append("".join(c.ljust(widths[j]) if j < len(widths) else c
                               for j, c in enumerate(cells)))

    def fmt(line0, line1):
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
            this += 1
        write_lines(line0, line1)

    fmt(0, len(lines))
    return out


def split_cells(line):
    """The cells of a #tabbed template line: "|" separates them, one space on either side of
    it going with the separator."""
    cells = line.split("|")
    for j in range(len(cells)):
        if j > 0 and cells[j].startswith(" "):
            cells[j] = cells[j][1:]
        if j < len(cells) - 1 and cells[j].endswith(" "):
            cells[j] = cells[j][:-1]
    return cells


def line_regex(t, defs, tabbed):
    if not tabbed:
        return re.compile(to_regex(t, defs))
    cells = split_cells(t)
    # the tab writer pads every cell but the last to its column's width, 2 spaces at least
    return re.compile(" {2,}".join("(?P<c%d>%s)" % (j, to_regex(c, defs))
                                   for j, c in enumerate(cells)))


def match_text(tmpl, out, defs):
    tabbed = bool(tmpl) and tmpl[0] == "#tabbed"
    if tabbed:
        tmpl = tmpl[1:]
    i = 0
    cells = []
    for t in tmpl:
        rep = None
        for suf in (" {{+}}", " {{*}}"):
            if t.endswith(suf):
                rep, t = suf[3], t[:-len(suf)]
        rx = line_regex(t, defs, tabbed)
        n = 0
        while i < len(out) and (rep or n == 0):
            m = rx.fullmatch(out[i])
            if not m:
                break
            if tabbed:
                cells.append([m.group("c%d" % j) for j in range(len(m.groupdict()))])
            i += 1
            n += 1
        if n == 0 and rep != "*":
            got = out[i] if i < len(out) else "<end of output>"
            return show(out, tmpl, "line %d: %r does not match %r" % (i + 1, got, t))
    if i < len(out):
        return show(out, tmpl, "line %d: %r is more than expected" % (i + 1, out[i]))
    if tabbed:
        laid = go_tabwriter(cells, 0, 2)
        if laid != out:
            diff = next(((n + 1, a, e) for n, (a, e) in enumerate(zip(out, laid)) if a != e))
            return show(out, tmpl, "the columns are not laid out as kubectl describe's tab "
                        "writer lays out these cells; first difference (line, output, laid "
                        "out): %r" % (diff,))
    return 0


def blocks(lines):
    res, cur = [], []
    for line in lines:
        if line == "":
            if cur:
                res.append(cur)
            cur = []
        else:
            cur.append(line)
    if cur:
        res.append(cur)
    return res


def cut(line, offs):
    cells = []
    for j, o in enumerate(offs):
        if j + 1 < len(offs):
            cells.append(line[o:offs[j + 1]].rstrip(" "))
        else:
            cells.append(line[o:])
    return cells


def match_rows(rows, rx, header, subset, unordered, out, spec):
    for r in rx:
        if len(r) != len(header):
            sys.exit("match.py: a row of the expectation has %d cells, the header %d"
                     % (len(r), len(header)))
    if not subset and len(rows) != len(rx):
        return show(out, spec, "%d rows, expected %d" % (len(rows), len(rx)))
    if unordered:
        free = list(range(len(rx)))
        for n, row in enumerate(rows):
            hit = next((k for k in free if all(p.fullmatch(c) for p, c in zip(rx[k], row))),
                       None)
            if hit is None:
                return show(out, spec, "row %d %r matches no expected row" % (n + 1, row))
            free.remove(hit)
        return 0
    i = 0
    for r in rx:
        if subset:
            while i < len(rows) and not r[0].fullmatch(rows[i][0]):
                i += 1
            if i == len(rows):
                return show(out, spec, "no row for %r" % r[0].pattern)
        row = rows[i]
        bad = [j for j, (c, p) in enumerate(zip(row, r)) if not p.fullmatch(c)]
        if bad:
            j = bad[0]
            return show(out, spec, "row %d column %s: %r does not match %r"
                        % (i + 1, header[j], row[j], r[j].pattern))
        i += 1
    return 0


def match_table(spec, out, defs):
    subset = bool(spec) and spec[0] == "#subset"
    unordered = bool(spec) and spec[0] == "#unordered"
    if subset or unordered:
        spec = spec[1:]
    want = [[[c.strip() for c in line.split("|")] for line in b] for b in blocks(spec)]
    got = blocks(out)
    # one blank line between tables, none elsewhere
    if len(got) != len(want) or sum(len(b) for b in got) + len(got) - 1 != len(out):
        return show(out, spec, "expected %d table(s), the output has %d" % (len(want), len(got)))
    tables = []
    for b, w in zip(got, want):
        head = b[0]
        offs, pos = [], 0
        for j, h in enumerate(w[0]):
            at = head.find(h, pos)
            if at < 0 or (j == 0 and at != 0) or head[pos:at].strip(" "):
                return show(out, spec, "header %r is not %r" % (head, "   ".join(w[0])))
            offs.append(at)
            pos = at + len(h)
        if head[pos:]:
            return show(out, spec, "header %r has more than %r" % (head, w[0]))
        tables.append([cut(line, offs) for line in b])
    laid = []
    for t in tables:
        if laid:
            laid.append("")
        laid.extend(go_tabwriter(t, 6, 3))
    if laid != out:
        diff = next(((n + 1, a, e) for n, (a, e) in enumerate(zip(out, laid)) if a != e), None)
        return show(out, spec, "the columns are not laid out as kubectl's tab writer lays out "
                    "these cells; first difference (line, output, laid out): %r" % (diff,))
    for t, w in zip(tables, want):
        rx = [[re.compile(to_regex(c, defs)) for c in r] for r in w[1:]]
        if match_rows(t[1:], rx, t[0], subset, unordered, out, spec):
            return 1
    return 0


def main(argv):
    if len(argv) < 3 or argv[0] not in ("text", "table"):
        sys.exit(__doc__)
    mode, exp, got = argv[0], argv[1], argv[2]
    minor, defs = None, {}
    rest = argv[3:]
    while rest:
        flag = rest.pop(0)
        if flag == "--minor":
            minor = int(rest.pop(0))
        elif flag in ("-D", "-R"):
            name, _, value = rest.pop(0).partition("=")
            defs[name] = re.escape(value) if flag == "-D" else "(?:" + value + ")"
        else:
            sys.exit("match.py: unknown flag " + flag)
    spec = load(exp, minor)
    out = out_lines(got)
    if mode == "text":
        return match_text(spec, out, defs)
    return match_table(spec, out, defs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
