#!/usr/bin/env python3
"""Generates server/command_docs_data.inc: COMMAND DOCS for every command allotd serves.

For each command allotd lists (COMMAND LIST of a freshly started allotd) this asks Debian's
redis-server 7.0 for its COMMAND DOCS entry over RESP3 and keeps the reply tree exactly as
Redis sent it (map, set, array, bulk, status, integer), so allotd can send the same bytes in
RESP2 and RESP3. Allot's own commands (INV.*) come from tools/command_docs_allot.json,
written in Redis's doc shape. See docs/commands.md ("COMMAND DOCS").

Usage: tools/gen_command_docs.py --allotd build/server/allotd [--redis-server redis-server]
(--names FILE instead of --allotd takes the command names from a file.)
"""
import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Resp:
    """A blocking RESP3 client that keeps each reply's type."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile('rb')

    def call(self, *args):
        out = b'*%d\r\n' % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b'$%d\r\n%s\r\n' % (len(a), a)
        self.sock.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()
        if not line.endswith(b'\r\n'):
            raise RuntimeError('connection closed')
        t, rest = chr(line[0]), line[1:-2]
        if t == '+':
            return ('+', rest)
        if t == '-':
            raise RuntimeError(rest.decode())
        if t == ':':
            return (':', int(rest))
        if t == '$':
            data = self.f.read(int(rest) + 2)
            return ('$', data[:-2])
        if t in '*~':
            return (t, [self.read() for _ in range(int(rest))])
        if t == '%':
            return ('%', [self.read() for _ in range(2 * int(rest))])
        raise RuntimeError('unexpected RESP type %r in COMMAND DOCS' % t)


def wait_connect(family, addr, proc):
    for _ in range(200):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('server exited')
        try:
            s = socket.socket(family)
            s.connect(addr)
            return s
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('cannot connect to %r' % (addr,))


def allotd_commands(allotd, tmp):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([allotd, '--port', str(port), '--dir', tmp, '--threads', '1',
                             '--logfile', os.path.join(tmp, 'allotd.log')])
    try:
        c = Resp(wait_connect(socket.AF_INET, ('127.0.0.1', port), proc))
        names = [n.decode() for _, n in c.call('COMMAND', 'LIST')[1]]
    finally:
        proc.terminate()
        proc.wait()
    return names


def redis_docs(redis_server, names, tmp):
    sock = os.path.join(tmp, 'redis.sock')
    proc = subprocess.Popen([redis_server, '--port', '0', '--unixsocket', sock, '--save', '',
                             '--appendonly', 'no', '--dir', tmp], stdout=subprocess.DEVNULL)
    try:
        c = Resp(wait_connect(socket.AF_UNIX, sock, proc))
        hello = c.call('HELLO', '3')[1]
        version = next(hello[i + 1][1].decode() for i in range(0, len(hello), 2)
                       if hello[i][1] == b'version')
        reply = c.call('COMMAND', 'DOCS', *names)[1]
    finally:
        proc.terminate()
        proc.wait()
    docs = {}
    for i in range(0, len(reply), 2):
        docs[reply[i][1].decode()] = sort_subcommands(reply[i + 1])
    return version, docs


def sort_subcommands(tree):
    """Redis lists subcommands in the order of a dict with a random seed, different in
    every redis-server process; sorted by name, the generated file is the same every run."""
    t, v = tree
    if t in '*~':
        for x in v:
            sort_subcommands(x)
    elif t == '%':
        for i in range(0, len(v), 2):
            sort_subcommands(v[i + 1])
            if v[i] == ('$', b'subcommands') and v[i + 1][0] == '%':
                kv = v[i + 1][1]
                pairs = sorted(zip(kv[0::2], kv[1::2]), key=lambda p: p[0][1])
                v[i + 1] = ('%', [x for p in pairs for x in p])
    return tree


def from_json(value, key=None):
    """Turns a hand-written doc (JSON, Redis's reply shape) into a typed tree like Redis's:
    flag lists are sets of status strings, key_spec_index an integer, the rest bulk."""
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            items += [('$', k.encode()), from_json(v, k)]
        return ('%', items)
    if key in ('doc_flags', 'flags'):
        return ('~', [('+', f.encode()) for f in value])
    if isinstance(value, list):
        return ('*', [from_json(v) for v in value])
    if isinstance(value, int):
        return (':', value)
    return ('$', value.encode())


def strings(tree, counter):
    t, v = tree
    if t in '$+':
        counter[(t, v)] += 1
    elif t in '*~%':
        for x in v:
            strings(x, counter)


def encode(tree, table):
    """Compact form read by server/command_docs.cc: %n, *n, ~n containers, :n integers,
    $n,bytes / +n,bytes strings, #i / !i the i-th shared bulk / status string; ',' ends a
    number."""
    t, v = tree
    if t in '*~':
        return b'%s%d,' % (t.encode(), len(v)) + b''.join(encode(x, table) for x in v)
    if t == '%':
        return b'%%%d,' % (len(v) // 2) + b''.join(encode(x, table) for x in v)
    if t == ':':
        return b':%d,' % v
    if (t, v) in table:
        return b'%s%d,' % (b'#' if t == '$' else b'!', table[(t, v)])
    return b'%s%d,%s' % (t.encode(), len(v), v)


def c_literal(data, width=96):
    """Adjacent C string literals of about width bytes each."""
    lines, cur = [], ''
    for b in data:
        ch = chr(b)
        if ch == '\\' or ch == '"':
            piece = '\\' + ch
        elif 32 <= b < 127 and not (ch == '?' and cur.endswith('?')):
            piece = ch
        else:
            piece = '\\%03o' % b
        cur += piece
        if len(cur) >= width:
            lines.append('"%s"' % cur)
            cur = ''
    if cur or not lines:
        lines.append('"%s"' % cur)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--allotd', help='the built allotd binary (asked for COMMAND LIST)')
    ap.add_argument('--names', help='or: a file with the command names, one a line')
    ap.add_argument('--redis-server', default='redis-server')
    ap.add_argument('--allot-docs', default=os.path.join(ROOT, 'tools', 'command_docs_allot.json'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'server', 'command_docs_data.inc'))
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if opts.names:
            with open(opts.names) as f:
                names = [n.strip().lower() for n in f if n.strip()]
        elif opts.allotd:
            names = allotd_commands(opts.allotd, tmp)
        else:
            sys.exit('give --allotd or --names')
        version, docs = redis_docs(opts.redis_server, names, tmp)
    with open(opts.allot_docs) as f:
        own = json.load(f, object_pairs_hook=collections.OrderedDict)
    for name, doc in own.items():
        if name in docs:
            sys.exit('%s is documented by Redis; remove it from %s' % (name, opts.allot_docs))
        docs[name] = from_json(doc)
    missing = [n for n in names if n not in docs]
    if missing:
        sys.exit('no documentation for %s: add it to %s' % (', '.join(missing), opts.allot_docs))

    order = [n for n in names if n in docs]
    counter = collections.Counter()
    for n in order:
        strings(docs[n], counter)
    # Strings seen more than once and longer than a reference are shared, the most frequent
    # first so that they get the shortest references.
    ranked = sorted(counter.items(), key=lambda sc: (-sc[1], sc[0]))
    shared = [s for s, c in ranked if c > 1 and len(s[1]) > 3]
    table = {s: i for i, s in enumerate(shared)}

    out = ['// Generated by tools/gen_command_docs.py from redis-server %s and' % version,
           '// tools/command_docs_allot.json. Do not edit; regenerate (docs/commands.md).',
           '// clang-format off',
           'inline constexpr std::string_view kDocStrings[] = {']
    for kind, s in shared:
        out.append('    ' + ' '.join(c_literal(s)) + ',')
    out.append('};')
    out.append('inline constexpr bool kDocStringIsStatus[] = {')
    out.append('    ' + ', '.join('true' if k == '+' else 'false' for k, _ in shared) + ',')
    out.append('};')
    out.append('inline constexpr DocSource kDocSources[] = {')
    for n in order:
        lits = c_literal(encode(docs[n], table))
        out.append('    {"%s",' % n)
        out += ['     ' + l for l in lits[:-1]]
        out.append('     ' + lits[-1] + '},')
    out.append('};')
    out.append('// clang-format on')
    with open(opts.out, 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('%s: %d commands, %d shared strings, %d bytes' %
          (opts.out, len(order), len(shared), os.path.getsize(opts.out)))


if __name__ == '__main__':
    main()
