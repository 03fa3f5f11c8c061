#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Embed JSON Schema files in a C source file as a struct berth_schema_set.

usage: embed-schemas.py --symbol NAME --set-name NAME -o OUT.c FILE.json...

Each schema is compiled here into the static nodes of
src/runtime/schema-internal.h, with every "$ref" resolved, so that a process
parses no schema; the text is embedded too (compact: same members, same
order, same values). A file's base name is the name "$ref"s find it by.
"""

import argparse
import json
import os
import sys


def c_string(data: str) -> str:
    out = []
    line = '"'
    for ch in data.encode('utf-8'):
        c = chr(ch)
        if c == '"' or c == '\\':
            piece = '\\' + c
        elif 32 <= ch < 127 and c != '?':
            piece = c
        else:
            piece = '\\%03o' % ch
        line += piece
        if len(line) > 90:
            out.append(line + '"')
            line = '"'
    out.append(line + '"')
    return '\n        '.join(out)



TYPE_BITS = {'null': 'SCHEMA_T_NULL', 'boolean': 'SCHEMA_T_BOOLEAN', 'object': 'SCHEMA_T_OBJECT',
             'array': 'SCHEMA_T_ARRAY', 'number': 'SCHEMA_T_NUMBER', 'string': 'SCHEMA_T_STRING',
             'integer': 'SCHEMA_T_INTEGER'}


def c_num(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SystemExit('embed-schemas: %r is not a number' % (v,))
    if isinstance(v, float):
        return '{ .kind = SCHEMA_NUM_DOUBLE, .d = %r }' % v
    if v < 0:
        if v < -2**63:
            raise SystemExit('embed-schemas: %d is out of range' % v)
        return '{ .kind = SCHEMA_NUM_NEG, .i = (%dLL - 1) }' % (v + 1)
    if v >= 2**64:
        raise SystemExit('embed-schemas: %d is out of range' % v)
    return '{ .kind = SCHEMA_NUM_POS, .u = %dULL }' % v


def compact(v):
    return json.dumps(v, separators=(',', ':'), ensure_ascii=False)


class Compiler:
    def __init__(self, docs):
        self.docs = docs           # name -> parsed document
        self.nodes = []            # index -> list of C field initializers
        self.aux = []              # C definitions the nodes refer to
        self.at_cache = {}         # (file, pointer segments) -> index
        self.names = 0             # unique suffix for aux definitions

    def fresh(self):
        # Names are taken before the nested definitions are emitted, so they
        # can't come from len(self.aux).
        self.names += 1
        return self.names

    def at(self, fname, segments):
        key = (fname, tuple(segments))
        if key in self.at_cache:
            return self.at_cache[key]
        if fname not in self.docs:
            raise SystemExit('embed-schemas: no schema file %r' % fname)
        cur = self.docs[fname]
        for seg in segments:
            if isinstance(cur, dict) and seg in cur:
                cur = cur[seg]
            elif isinstance(cur, list) and seg.isdigit() and int(seg) < len(cur):
                cur = cur[int(seg)]
            else:
                raise SystemExit('embed-schemas: %s has no #/%s' % (fname, '/'.join(segments)))
        idx = len(self.nodes)
        self.nodes.append(None)
        self.at_cache[key] = idx
        self.nodes[idx] = self.fields(fname, cur)
        return idx

    def new(self, fname, schema):
        idx = len(self.nodes)
        self.nodes.append(None)
        self.nodes[idx] = self.fields(fname, schema)
        return idx

    def ref_target(self, fname, ref):
        uri, _, frag = ref.partition('#')
        target = uri.rsplit('/', 1)[-1] if uri else fname
        segments = []
        for seg in frag.split('/'):
            if seg:
                segments.append(seg.replace('~1', '/').replace('~0', '~'))
        return self.at(target, segments)

    def node_list(self, fname, schemas):
        name = 'l%d' % self.fresh()
        refs = ['&n%d' % self.new(fname, x) for x in schemas]
        self.aux.append('static struct berth_schema_node *const %s[] = { %s };'
                        % (name, ', '.join(refs)))
        return name, len(refs)

    def fields(self, fname, s):
        f = ['.min_props = -1', '.max_props = -1', '.min_items = -1', '.max_items = -1',
             '.min_len = -1', '.max_len = -1']
        if s is True:
            return f
        if s is False:
            return f + ['.is_false = true']
        if not isinstance(s, dict):
            raise SystemExit('embed-schemas: %s: a schema is not an object' % fname)
        if '$ref' in s:
            t = self.ref_target(fname, s['$ref'])
            return f + ['.ref = %s' % c_string(s['$ref']), '.target = &n%d' % t]
        if 'type' in s:
            types = s['type'] if isinstance(s['type'], list) else [s['type']]
            f.append('.types = ' + ' | '.join(TYPE_BITS[t] for t in types))
        if 'properties' in s:
            name = 'p%d' % self.fresh()
            items = sorted(s['properties'].items(), key=lambda kv: kv[0].encode('utf-8'))
            props = ['{ %s, &n%d }' % (c_string(k), self.new(fname, v)) for k, v in items]
            self.aux.append('static const struct berth_schema_prop %s[] = { %s };'
                            % (name, ', '.join(props) or '{ 0 }'))
            f += ['.props = %s' % name, '.n_props = %d' % len(props)]
        if 'required' in s:
            name = 'r%d' % self.fresh()
            self.aux.append('static const char *const %s[] = { %s };'
                            % (name, ', '.join(c_string(x) for x in s['required']) or 'NULL'))
            f += ['.required = %s' % name, '.n_required = %d' % len(s['required'])]
        if 'additionalProperties' in s:
            v = s['additionalProperties']
            if v is False:
                f.append('.no_additional = true')
            elif v is not True:
                f.append('.additional = &n%d' % self.new(fname, v))
        if 'patternProperties' in s:
            name = 'pp%d' % self.fresh()
            pp = ['{ %s, NULL, &n%d }' % (c_string(k), self.new(fname, v))
                  for k, v in s['patternProperties'].items()]
            self.aux.append('static struct berth_schema_pprop %s[] = { %s };'
                            % (name, ', '.join(pp) or '{ 0 }'))
            f += ['.pprops = %s' % name, '.n_pprops = %d' % len(pp)]
        for kw, field in (('minProperties', 'min_props'), ('maxProperties', 'max_props'),
                          ('minItems', 'min_items'), ('maxItems', 'max_items'),
                          ('minLength', 'min_len'), ('maxLength', 'max_len')):
            if kw in s:
                f.append('.%s = %d' % (field, s[kw]))
        if 'items' in s:
            if isinstance(s['items'], list):
                name, n = self.node_list(fname, s['items'])
                f += ['.tuple = %s' % name, '.n_tuple = %d' % n]
            else:
                f.append('.items = &n%d' % self.new(fname, s['items']))
        if 'additionalItems' in s:
            v = s['additionalItems']
            if v is False:
                f.append('.no_additional_items = true')
            elif v is not True:
                f.append('.additional_items = &n%d' % self.new(fname, v))
        if s.get('uniqueItems') is True:
            f.append('.unique = true')
        if 'pattern' in s:
            f.append('.pattern_source = %s' % c_string(s['pattern']))
        if 'minimum' in s:
            f += ['.has_min = true', '.min = %s' % c_num(s['minimum'])]
        if 'maximum' in s:
            f += ['.has_max = true', '.max = %s' % c_num(s['maximum'])]
        for kw, has, field, excl in (('exclusiveMinimum', 'has_min', 'min', 'excl_min'),
                                     ('exclusiveMaximum', 'has_max', 'max', 'excl_max')):
            if kw not in s:
                continue
            if isinstance(s[kw], bool):
                if s[kw]:
                    f.append('.%s = true' % excl)
            else:
                f = [x for x in f if not x.startswith('.%s =' % field)]
                f += ['.%s = true' % has, '.%s = true' % excl, '.%s = %s' % (field, c_num(s[kw]))]
        if 'enum' in s:
            f.append('.enum_text = %s' % c_string(compact(s['enum'])))
        if 'const' in s:
            f += ['.has_const = true', '.const_text = %s' % c_string(compact(s['const']))]
        for kw, field in (('allOf', 'all_of'), ('anyOf', 'any_of'), ('oneOf', 'one_of')):
            if kw in s:
                name, n = self.node_list(fname, s[kw])
                f += ['.%s = %s' % (field, name), '.n_%s = %d' % (field, n)]
        if 'not' in s:
            f.append('.not_ = &n%d' % self.new(fname, s['not']))
        return f


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--symbol', required=True)
    ap.add_argument('--set-name', required=True)
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('files', nargs='+')
    args = ap.parse_args()

    entries = []
    docs = {}
    for path in sorted(args.files, key=os.path.basename):
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
        docs[os.path.basename(path)] = doc
        entries.append((os.path.basename(path), compact(doc)))
    comp = Compiler(docs)
    roots = [comp.at(name, []) for name, _ in entries]

    with open(args.output + '.tmp', 'w', encoding='utf-8') as out:
        out.write('/* Generated by scripts/embed-schemas.py; do not edit. */\n')
        out.write('#include "runtime/schema-internal.h"\n\n')
        out.write('static struct berth_schema_node %s;\n\n'
                  % ', '.join('n%d' % i for i in range(len(comp.nodes))))
        for line in comp.aux:
            out.write(line + '\n')
        out.write('\n')
        for i, fields in enumerate(comp.nodes):
            # A later designator for the same field wins: keep only that one.
            last = {}
            for fld in fields:
                last[fld.split('=', 1)[0].strip()] = fld
            fields = list(last.values())
            out.write('static struct berth_schema_node n%d = { %s };\n' % (i, ', '.join(fields)))
        out.write('\n')
        for i, (name, data) in enumerate(entries):
            out.write('static const char schema_%d[] =\n        %s;\n\n' % (i, c_string(data)))
        out.write('static const struct berth_schema_file files[] = {\n')
        for i, (name, data) in enumerate(entries):
            out.write('        { %s, schema_%d, sizeof(schema_%d) - 1, &n%d },\n'
                      % (json.dumps(name), i, i, roots[i]))
        out.write('};\n\n')
        out.write('const struct berth_schema_set %s = {\n' % args.symbol)
        out.write('        .name = %s,\n' % json.dumps(args.set_name))
        out.write('        .files = files,\n')
        out.write('        .n_files = %d,\n' % len(entries))
        out.write('};\n')
    os.replace(args.output + '.tmp', args.output)
    return 0


if __name__ == '__main__':
    sys.exit(main())
