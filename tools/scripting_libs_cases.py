#!/usr/bin/env python3
"""Regenerates the expected replies of tests/scripting_libs_test.cc from a redis-server.

Usage: redis-server --port 0 --unixsocket /tmp/r.sock --save '' --daemonize yes
       tools/scripting_libs_cases.py /tmp/r.sock > /tmp/cases.inc
then paste the output into kCases (the test reads the same prelude file).
"""
import socket
import sys

PRELUDE = open(__file__.replace('scripting_libs_cases.py', 'scripting_libs_prelude.lua')).read()
CASES = [l.rstrip('\n') for l in open(__file__.replace('scripting_libs_cases.py',
                                                         'scripting_libs_cases.txt')) if l.strip()]


def resp(args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a.encode('latin1')
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out


def read(f):
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b'$':
        return f.read(int(rest) + 2)[:-2]
    if t in (b'+', b'-'):
        return t + rest
    raise RuntimeError(line)


def cstr(s):
    out = ''
    for ch in s:
        o = ord(ch)
        if ch in '\\"':
            out += '\\' + ch
        elif 32 <= o < 127:
            out += ch
        else:
            out += '\\x%02x""' % o
    return '"' + out + '"'


def main():
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(sys.argv[1])
    f = sock.makefile('rb')
    for c in CASES:
        sock.sendall(resp(['EVAL', PRELUDE + 'return try(function() return ' + c + ' end)', '0']))
        r = read(f).decode('latin1')
        print('    {%s,\n     %s},' % (cstr(c), cstr(r)))


main()
