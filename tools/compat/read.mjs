// Opens the archiver's sample files (written by io.otellake.archiver.compat.SampleLake, see check.sh) with three
// Parquet readers that share no code with parquet-mr or DuckDB, prints what each sees, and fails (exit 1) unless
// every reader returns the lake's types and exactly the values SampleLake wrote:
//   polars      nodejs-polars: the Rust polars engine that Python's polars also runs
//   arrow-rs    parquet-wasm: the Rust Arrow/Parquet implementation, decoded here with apache-arrow (JS)
//   hyparquet   a pure JavaScript reader
// Usage: node read.mjs <directory with spans.parquet, logs.parquet, metrics.parquet, trace_index.parquet>
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { tableFromIPC, TimeUnit, Type } from 'apache-arrow';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import pl from 'nodejs-polars';
import * as wasm from 'parquet-wasm/node';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node read.mjs <directory of sample files>');
  process.exit(2);
}
const version = (pkg) =>
  JSON.parse(readFileSync(path.join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;

// ---------------------------------------------------------------------------------------------------------------
// What SampleLake wrote. Keep in step with archiver/src/test/java/io/otellake/archiver/compat/SampleLake.java.

const START = 1_700_000_000_123_456_789n; // 2023-11-14T22:13:20.123456789Z
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const OTHER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = 'b7ad6b7169203331';
const CHILD_SPAN_ID = '53995c3f42cd8ad8';
const ROOT_SPAN_ID = 'a3ce929d0e0e4736';
const RESOURCE = { 'service.name': 'checkout', 'host.name': 'web-1', 'process.pid': '4242' };
const SCOPE_ATTRIBUTES = { sample: 'true' };

const hex = (id, length) => typeof id === 'string' && id.length === length && /^[0-9a-f]+$/.test(id);

const FILES = {
  spans: {
    rows: 3,
    timestamps: ['start_time', 'end_time', 'events[].time'],
    maps: ['resource_attributes', 'scope_attribute_types', 'attributes', 'attribute_types', 'events[].attributes',
      'links[].attributes'],
    verify(rows) {
      const [server, child, root] = rows;
      for (const r of rows) {
        assert.ok(hex(r.trace_id, 32) && hex(r.span_id, 16), `ids are lowercase hex: ${r.trace_id} ${r.span_id}`);
        assert.ok(r.parent_span_id === null || hex(r.parent_span_id, 16), `parent id: ${r.parent_span_id}`);
      }
      assert.equal(server.trace_id, TRACE_ID);
      assert.equal(server.span_id, SPAN_ID);
      assert.equal(server.parent_span_id, '00f067aa0ba902b7');
      assert.equal(server.trace_state, 'congo=t61rcWkgMzE');
      assert.equal(server.flags, 0x301n);
      assert.equal(server.name, 'POST /checkout');
      assert.equal(server.kind, 'SERVER');
      assert.equal(server.start_time, START);
      assert.equal(server.end_time, START + 100_000_001n);
      assert.equal(server.duration_ns, 100_000_001n);
      assert.equal(server.status_code, 'ERROR');
      assert.equal(server.status_message, 'card declined');
      assert.equal(server.service_name, 'checkout');
      assert.deepEqual(server.resource_attributes, RESOURCE);
      assert.deepEqual(server.resource_attribute_types, { 'process.pid': 'int' });
      assert.equal(server.resource_schema_url, 'https://opentelemetry.io/schemas/1.26.0');
      assert.equal(server.scope_name, 'io.otellake.sample');
      assert.equal(server.scope_version, '1.0.0');
      assert.deepEqual(server.scope_attributes, SCOPE_ATTRIBUTES);
      assert.deepEqual(server.scope_attribute_types, { sample: 'bool' });
      assert.deepEqual(server.attributes, {
        'http.route': '/checkout',
        'http.response.status_code': '502',
        'sample.ratio': '0.25',
        retry: 'false',
        payload: 'AQL/',
        tags: '{"values":[{"stringValue":"a"},{"intValue":"7"}]}',
        user: '{"values":[{"key":"id","value":{"intValue":"42"}}]}',
        nothing: '',
      });
      assert.deepEqual(server.attribute_types, {
        'http.response.status_code': 'int',
        'sample.ratio': 'double',
        retry: 'bool',
        payload: 'bytes',
        tags: 'array',
        user: 'kvlist',
        nothing: 'empty',
      });
      assert.equal(server.dropped_attributes_count, 3n);
      assert.deepEqual(server.events, [
        { time: START + 1n, name: 'cache miss', attributes: { 'cache.key': 'user:42' }, attribute_types: {},
          dropped_attributes_count: 0n },
        { time: START + 99_999_999n, name: 'exception',
          attributes: { 'exception.type': 'CardDeclined', 'exception.escaped': 'true' },
          attribute_types: { 'exception.escaped': 'bool' }, dropped_attributes_count: 0n },
      ]);
      assert.deepEqual(server.links, [
        { trace_id: OTHER_TRACE_ID, span_id: 'e457b5a2e4d86bd1', trace_state: 'rojo=00f067aa0ba902b7', flags: 1n,
          attributes: { 'link.reason': 'retry of' }, attribute_types: {}, dropped_attributes_count: 0n },
      ]);
      assert.equal(child.span_id, CHILD_SPAN_ID);
      assert.equal(child.parent_span_id, SPAN_ID);
      assert.equal(child.start_time, START + 10n);
      assert.equal(child.status_code, 'UNSET');
      assert.equal(child.status_message, null);
      assert.deepEqual(child.attributes, {});
      assert.deepEqual(child.events, []);
      assert.deepEqual(child.links, []);
      assert.equal(root.trace_id, OTHER_TRACE_ID);
      assert.equal(root.span_id, ROOT_SPAN_ID);
      assert.equal(root.parent_span_id, null);
      assert.equal(root.kind, 'INTERNAL');
      assert.equal(root.status_code, 'OK');
      assert.equal(root.end_time, START + 6n);
    },
  },
  logs: {
    rows: 2,
    timestamps: ['timestamp', 'observed_timestamp'],
    maps: ['resource_attributes', 'attributes', 'attribute_types'],
    verify([declined, structured]) {
      assert.equal(declined.timestamp, START);
      assert.equal(declined.observed_timestamp, START + 1_000n);
      assert.ok(hex(declined.trace_id, 32) && hex(declined.span_id, 16), 'ids are lowercase hex');
      assert.equal(declined.trace_id, TRACE_ID);
      assert.equal(declined.span_id, SPAN_ID);
      assert.equal(declined.trace_flags, 1n);
      assert.equal(declined.severity_text, 'ERROR');
      assert.equal(declined.severity_number, 17);
      assert.equal(declined.event_name, null);
      assert.equal(declined.body, 'card declined');
      assert.equal(declined.body_type, 'string');
      assert.equal(declined.service_name, 'payments');
      assert.deepEqual(declined.resource_attributes, { ...RESOURCE, 'service.name': 'payments' });
      assert.deepEqual(declined.attributes, { retry: 'true', attempt: '2' });
      assert.deepEqual(declined.attribute_types, { retry: 'bool', attempt: 'int' });
      assert.equal(structured.timestamp, null, 'no time: null, not the epoch');
      assert.equal(structured.observed_timestamp, START + 2_000n);
      assert.equal(structured.trace_id, null);
      assert.equal(structured.span_id, null);
      assert.equal(structured.severity_number, 9);
      assert.equal(structured.event_name, 'order.placed');
      assert.equal(structured.body,
        '{"values":[{"key":"order","value":{"stringValue":"o-1"}},{"key":"items","value":{"intValue":"3"}}]}');
      assert.equal(structured.body_type, 'kvlist');
      assert.deepEqual(structured.attributes, {});
    },
  },
  metrics: {
    rows: 5,
    timestamps: ['timestamp', 'start_timestamp', 'exemplars[].timestamp'],
    maps: ['metric_metadata', 'resource_attributes', 'attributes', 'exemplars[].filtered_attributes',
      'exemplars[].filtered_attribute_types'],
    verify([gauge, sum, histogram, exponential, summary]) {
      const kinds = [gauge, sum, histogram, exponential, summary].map((r) => r.metric_type);
      assert.deepEqual(kinds, ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary']);
      for (const r of [gauge, sum, histogram, exponential, summary]) {
        assert.equal(r.timestamp, START);
        assert.deepEqual(r.resource_attributes, RESOURCE);
        for (const e of r.exemplars) {
          assert.ok(e.trace_id === null || hex(e.trace_id, 32), `exemplar trace id: ${e.trace_id}`);
          assert.ok(e.span_id === null || hex(e.span_id, 16), `exemplar span id: ${e.span_id}`);
        }
      }
      assert.equal(gauge.metric_name, 'jvm.thread.count');
      assert.equal(gauge.metric_unit, '{thread}');
      assert.deepEqual(gauge.metric_metadata, { source: 'jmx' });
      assert.equal(gauge.start_timestamp, null);
      assert.equal(gauge.aggregation_temporality, null);
      assert.equal(gauge.is_monotonic, null);
      assert.deepEqual(gauge.attributes, { state: 'runnable' });
      assert.equal(gauge.value_double, 42.5);
      assert.equal(gauge.value_int, null);
      assert.equal(gauge.bucket_counts, null);
      assert.equal(gauge.quantile_values, null);
      assert.deepEqual(gauge.exemplars, [
        { timestamp: START - 7n, value_double: 41.25, value_int: null, trace_id: TRACE_ID, span_id: SPAN_ID,
          filtered_attributes: { 'thread.id': '7' }, filtered_attribute_types: { 'thread.id': 'int' } },
      ]);
      assert.equal(sum.start_timestamp, START - 60_000_000_000n);
      assert.equal(sum.aggregation_temporality, 'cumulative');
      assert.equal(sum.is_monotonic, true);
      assert.equal(sum.value_int, 9_007_199_254_740_993n, '2^53 + 1, exact');
      assert.equal(sum.value_double, null);
      assert.deepEqual(sum.exemplars, [
        { timestamp: START - 3n, value_double: null, value_int: 1n, trace_id: null, span_id: null,
          filtered_attributes: {}, filtered_attribute_types: {} },
      ]);
      assert.equal(histogram.metric_description, 'Duration of HTTP server requests.');
      assert.equal(histogram.aggregation_temporality, 'delta');
      assert.equal(histogram.is_monotonic, null);
      assert.deepEqual(histogram.attributes, { 'http.route': '/checkout' });
      assert.equal(histogram.count, 6n);
      assert.equal(histogram.sum, 7.25);
      assert.equal(histogram.min, 0.125);
      assert.equal(histogram.max, 3.5);
      assert.deepEqual(histogram.bucket_counts, [1n, 2n, 3n]);
      assert.deepEqual(histogram.explicit_bounds, [0.5, 2.5]);
      assert.equal(histogram.scale, null);
      assert.deepEqual(histogram.exemplars.map((e) => [e.timestamp, e.value_double, e.trace_id, e.span_id]),
        [[START - 1n, 3.5, OTHER_TRACE_ID, ROOT_SPAN_ID]]);
      assert.equal(exponential.count, 7n);
      assert.equal(exponential.sum, 12);
      assert.equal(exponential.scale, 2);
      assert.equal(exponential.zero_count, 1n);
      assert.equal(exponential.zero_threshold, 0.001);
      assert.equal(exponential.positive_offset, -1);
      assert.deepEqual(exponential.positive_bucket_counts, [1n, 0n, 3n]);
      assert.equal(exponential.negative_offset, 0);
      assert.deepEqual(exponential.negative_bucket_counts, [2n]);
      assert.equal(exponential.bucket_counts, null);
      assert.deepEqual(exponential.exemplars.map((e) => [e.timestamp, e.trace_id, e.span_id]),
        [[START - 2n, TRACE_ID, CHILD_SPAN_ID]]);
      assert.equal(summary.count, 4n);
      assert.equal(summary.sum, 20.5);
      assert.deepEqual(summary.quantile_values, [{ quantile: 0.5, value: 1.5 }, { quantile: 0.99, value: 9.75 }]);
      assert.deepEqual(summary.exemplars, []);
      assert.equal(summary.explicit_bounds, null);
    },
  },
  trace_index: {
    rows: 2,
    timestamps: ['start_time', 'end_time'],
    maps: [],
    verify(rows) {
      assert.deepEqual(rows, [
        { trace_id: TRACE_ID, start_time: START, end_time: START + 200_000_000n, span_count: 2 },
        { trace_id: OTHER_TRACE_ID, start_time: START + 5n, end_time: START + 6n, span_count: 1 },
      ]);
    },
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Readers. Each one: open(file) -> { schema: [lines], native: [lines], rows: normalized rows, typeAt(path) }.
// Normalized rows hold int64 and timestamps (epoch ns) as BigInt, int32 and doubles as numbers, maps as plain
// objects, lists as arrays and absent values as null, so one set of expectations serves every reader.

// Follows a path such as 'events[].time' through a reader's type tree.
function typeAt(root, pathText, { field, element }) {
  let type = null;
  for (const [i, part] of pathText.split('.').entries()) {
    const list = part.endsWith('[]');
    const name = list ? part.slice(0, -2) : part;
    type = i === 0 ? root(name) : field(type, name);
    assert.ok(type, `no column ${pathText}`);
    if (list) type = element(type);
  }
  return type;
}

const polars = {
  name: 'polars',
  version: `nodejs-polars ${version('nodejs-polars')}`,
  open(file) {
    const df = pl.readParquet(file);
    const dtypes = df.schema;
    const inner = (t) => t.__inner; // a List's element type (its public getter wraps it in an array)
    const nav = {
      field: (t, name) => t.variant === 'Struct' && t.fields.find((f) => f.name === name)?.dtype,
      element: (t) => (t.variant === 'List' ? inner(t) : null),
    };
    // JS numbers cannot hold every int64: cast timestamps and int64 (also inside lists and structs) to text first.
    const swap = (t, from, to) => {
      if (from(t)) return to;
      if (t.variant === 'List') return pl.List(swap(inner(t), from, to));
      if (t.variant === 'Struct') return pl.Struct(t.fields.map((f) => new pl.Field(f.name, swap(f.dtype, from, to))));
      return t;
    };
    const exact = df.select(
      ...df.columns.map((c) => {
        const asInt = swap(dtypes[c], (t) => t.variant === 'Datetime', pl.Int64);
        return pl.col(c).cast(asInt).cast(swap(asInt, (t) => t.variant === 'Int64', pl.Utf8));
      }),
    );
    const normalize = (t, v) => {
      if (v === null || v === undefined) return null;
      if (t.variant === 'Datetime' || t.variant === 'Int64') return BigInt(v);
      if (t.variant === 'List') {
        const entries = inner(t).variant === 'Struct' && inner(t).fields.map((f) => f.name).join() === 'key,value';
        return entries ? Object.fromEntries(v.map((e) => [e.key, e.value])) : v.map((e) => normalize(inner(t), e));
      }
      if (t.variant === 'Struct') return Object.fromEntries(t.fields.map((f) => [f.name, normalize(f.dtype, v[f.name])]));
      return v;
    };
    const rows = exact.toRecords().map((r) => Object.fromEntries(df.columns.map((c) => [c, normalize(dtypes[c], r[c])])));
    const first = df.head(1).toRecords()[0];
    const ts = Object.keys(first).find((c) => dtypes[c].variant === 'Datetime');
    const map = Object.keys(first).find((c) => c.endsWith('attributes'));
    return {
      schema: df.columns.map((c) => `${c}: ${dtypes[c]}`),
      native: [
        `${ts}: toRecords() gives ${inspect(first[ts])} (${first[ts]?.constructor.name})`,
        ...(map ? [`${map}: toRecords() gives ${inspect(first[map], { breakLength: Infinity })}`] : []),
      ],
      rows,
      timestamp(p) {
        const t = typeAt((c) => dtypes[c], p, nav);
        return { ok: t.variant === 'Datetime' && t.timeUnit === 'ns' && t.timeZone === 'UTC', shown: `${t}` };
      },
      map(p) {
        const t = typeAt((c) => dtypes[c], p, nav);
        const fields = t.variant === 'List' && inner(t).variant === 'Struct' ? inner(t).fields : [];
        const ok = fields.map((f) => `${f.name}:${f.dtype.variant}`).join() === 'key:String,value:String';
        return { ok, shown: `${t}` };
      },
    };
  },
};

const arrow = {
  name: 'arrow-rs',
  version: `parquet-wasm ${version('parquet-wasm')} (arrow-rs), decoded with apache-arrow ${version('apache-arrow')}`,
  open(file) {
    const table = tableFromIPC(wasm.readParquet(new Uint8Array(readFileSync(file))).intoIPCStream());
    // apache-arrow's own getters turn nanosecond timestamps into float milliseconds; read the buffers instead.
    const value = (data, i) => {
      assert.equal(data.offset, 0, 'unsliced arrow data');
      if (!data.getValid(i)) return null;
      switch (data.typeId) {
        case Type.Int:
          return data.type.bitWidth === 64 ? BigInt(data.values[i]) : data.values[i];
        case Type.Timestamp:
          return BigInt(data.values[i]);
        case Type.Float:
          return data.values[i];
        case Type.Bool:
          return ((data.values[i >> 3] >> (i % 8)) & 1) === 1;
        case Type.Utf8:
          return new TextDecoder().decode(data.values.subarray(data.valueOffsets[i], data.valueOffsets[i + 1]));
        case Type.List: {
          const out = [];
          for (let j = data.valueOffsets[i]; j < data.valueOffsets[i + 1]; j++) out.push(value(data.children[0], j));
          return out;
        }
        case Type.Map: {
          const [keys, values] = data.children[0].children;
          const out = {};
          for (let j = data.valueOffsets[i]; j < data.valueOffsets[i + 1]; j++) out[value(keys, j)] = value(values, j);
          return out;
        }
        case Type.Struct:
          return Object.fromEntries(data.type.children.map((f, k) => [f.name, value(data.children[k], i)]));
        default:
          throw new Error(`no reader for arrow type ${data.type}`);
      }
    };
    const fields = table.schema.fields;
    const rows = [];
    for (const batch of table.batches) {
      for (let i = 0; i < batch.numRows; i++) {
        rows.push(Object.fromEntries(fields.map((f, k) => [f.name, value(batch.data.children[k], i)])));
      }
    }
    const nav = {
      field: (t, name) => t.typeId === Type.Struct && t.children.find((f) => f.name === name)?.type,
      element: (t) => (t.typeId === Type.List ? t.children[0].type : null),
    };
    const root = (c) => fields.find((f) => f.name === c)?.type;
    const ts = fields.find((f) => f.type.typeId === Type.Timestamp).name;
    const map = fields.find((f) => f.type.typeId === Type.Map)?.name;
    return {
      schema: fields.map((f) => `${f.name}: ${f.type}${f.nullable ? '' : ' not null'}`),
      native: [
        `${ts}: Table.get(0) gives ${inspect(table.get(0)[ts])} (float milliseconds)`,
        ...(map ? [`${map}: Table.get(0) gives ${table.get(0)[map]} (a MapRow)`] : []),
      ],
      rows,
      timestamp(p) {
        const t = typeAt(root, p, nav);
        const ok = t.typeId === Type.Timestamp && t.unit === TimeUnit.NANOSECOND && t.timezone === 'UTC';
        return { ok, shown: `${t}` };
      },
      map(p) {
        const t = typeAt(root, p, nav);
        const entries = t.typeId === Type.Map ? t.children[0].type : null;
        const ok = entries?.typeId === Type.Struct
          && entries.children.map((f) => `${f.name}:${f.type}`).join() === 'key:Utf8,value:Utf8';
        return { ok, shown: `${t}` };
      },
    };
  },
};

const hyparquet = {
  name: 'hyparquet',
  version: `hyparquet ${version('hyparquet')} with hyparquet-compressors ${version('hyparquet-compressors')}`,
  async open(file) {
    const buffer = await asyncBufferFromFile(file);
    const metadata = await parquetMetadataAsync(buffer);
    const tree = parquetSchema(metadata);
    const defaults = await parquetReadObjects({ file: buffer, metadata, compressors, rowEnd: 1 });
    // By default hyparquet returns a Date (milliseconds); this parser keeps the exact nanoseconds.
    const exact = await parquetReadObjects({
      file: buffer, metadata, compressors, parsers: { timestampFromNanoseconds: (nanos) => nanos },
    });
    // hyparquet returns undefined, not null, for a null list: normalize, and report it below.
    const nulls = (v) => {
      if (v === undefined || v === null) return null;
      if (Array.isArray(v)) return v.map(nulls);
      if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, nulls(x)]));
      return v;
    };
    const undefinedLists = tree.children.filter((c) => c.element.logical_type?.type === 'LIST'
      && exact.some((r) => r[c.element.name] === undefined)).map((c) => c.element.name);
    const describe = (n) => {
      const e = n.element;
      const logical = e.logical_type
        ? `${e.logical_type.type}${e.logical_type.unit ? `(${e.logical_type.unit}, utc=${e.logical_type.isAdjustedToUTC})` : ''}`
        : '';
      const inner = n.children.length ? ` { ${n.children.map(describe).join('; ')} }` : '';
      return `${e.repetition_type.toLowerCase()} ${e.type ?? 'group'} ${e.name}${logical ? ` ${logical}` : ''}${inner}`;
    };
    const nav = {
      field: (n, name) => n.children.find((c) => c.element.name === name),
      element: (n) => (n.element.logical_type?.type === 'LIST' ? n.children[0]?.children[0] : null),
    };
    const root = (c) => tree.children.find((n) => n.element.name === c);
    const first = defaults[0];
    const ts = tree.children.find((n) => n.element.logical_type?.type === 'TIMESTAMP').element.name;
    const map = tree.children.find((n) => n.element.logical_type?.type === 'MAP')?.element.name;
    return {
      schema: tree.children.map(describe),
      native: [
        `${ts}: default parsers give ${inspect(first[ts])} (${first[ts]?.constructor.name})`,
        ...(map ? [`${map}: gives ${inspect(first[map], { breakLength: Infinity })}`] : []),
        ...(undefinedLists.length ? [`null lists come back as undefined, not null: ${undefinedLists.join(', ')}`] : []),
      ],
      rows: exact.map(nulls),
      timestamp(p) {
        const n = typeAt(root, p, nav);
        const t = n.element.logical_type;
        const ok = n.element.type === 'INT64' && t?.type === 'TIMESTAMP' && t.unit === 'NANOS' && t.isAdjustedToUTC;
        // and the default read turns it into a date, not a bare number
        const asDate = p.includes('[]') || first[p] === null || first[p] instanceof Date;
        return { ok: ok && asDate, shown: describe(n) };
      },
      map(p) {
        const n = typeAt(root, p, nav);
        const kv = n.children[0];
        const ok = n.element.logical_type?.type === 'MAP' && kv?.element.repetition_type === 'REPEATED'
          && kv.children.map((c) => `${c.element.name}:${c.element.logical_type?.type}`).join() === 'key:STRING,value:STRING';
        return { ok, shown: describe(n) };
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------------------------

const show = (v) => inspect(v, { depth: 8, breakLength: 150, maxArrayLength: 20, maxStringLength: 120 });
const failures = [];
console.log(`node ${process.version}`);
for (const reader of [polars, arrow, hyparquet]) {
  console.log(`\n=== ${reader.name}: ${reader.version}`);
  for (const [kind, expect] of Object.entries(FILES)) {
    const file = path.join(dir, `${kind}.parquet`);
    console.log(`\n--- ${reader.name} / ${kind}.parquet`);
    try {
      const seen = await reader.open(file);
      console.log('schema:');
      for (const line of seen.schema) console.log(`  ${line}`);
      console.log('as the reader hands it back:');
      for (const line of seen.native) console.log(`  ${line}`);
      console.log(`row 0 (normalized):\n${show(seen.rows[0])}`);
      const problems = [];
      for (const p of expect.timestamps) {
        const t = seen.timestamp(p);
        if (!t.ok) problems.push(`${p} is not a nanosecond UTC timestamp: ${t.shown}`);
      }
      for (const p of expect.maps) {
        const m = seen.map(p);
        if (!m.ok) problems.push(`${p} is not a map of key/value strings: ${m.shown}`);
      }
      try {
        assert.equal(seen.rows.length, expect.rows, 'row count');
        expect.verify(seen.rows);
      } catch (e) {
        problems.push(e.message);
      }
      if (problems.length) throw new Error(problems.join('\n'));
      console.log(`OK: ${expect.timestamps.length} timestamp columns ns/UTC, ${expect.maps.length} map columns, `
        + `${expect.rows} rows with the values written`);
    } catch (e) {
      // Known cause (docs/schema.md, "Readers we checked"): parquet-mr 1.18 marks FLOAT/DOUBLE columns with the
      // IEEE_754_TOTAL_ORDER column order, and polars engines older than that order's support reject the footer.
      const hint = reader === polars && /Invalid thrift|ColumnOrder/.test(e.message)
        ? ' (footer rejected: does the file carry the IEEE_754_TOTAL_ORDER column order? see docs/schema.md)'
        : '';
      e.message += hint;
      console.log(`FAIL: ${e.message}`);
      failures.push(`${reader.name} / ${kind}.parquet: ${e.message.split('\n')[0]}`);
    }
  }
}
console.log(`\n${12 - failures.length} passed, ${failures.length} failed`);
for (const f of failures) console.log(`  ${f}`);
process.exit(failures.length ? 1 : 0);
