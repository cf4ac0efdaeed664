// A tiny, dependency-free ZIP writer for building deployment packages in memory,
// plus builders for hostile archives that the server must refuse.
//
// Output is deterministic (fixed DOS timestamp, no extra fields), so the same
// entries always produce the same bytes and therefore the same CodeSha256.

import zlib from 'node:zlib';

const DOS_TIME = 0; // 00:00:00
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3) of `buf`, continuing from `prev` (default 0). */
export function crc32(buf, prev = 0) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(buf, prev) >>> 0;
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function toBuffer(data) {
  if (data === undefined || data === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(String(data), 'utf8');
}

function isAscii(s) {
  return /^[\x00-\x7f]*$/.test(s);
}

/**
 * Assemble a ZIP archive from already-encoded entries.
 * Each raw entry: { name, method (0 stored | 8 deflate), crc, compressed (Buffer),
 *                   size (uncompressed size written to the headers), mode? }
 */
export function assembleZip(rawEntries, { comment = '' } = {}) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const e of rawEntries) {
    const name = Buffer.from(e.name, 'utf8');
    const flags = isAscii(e.name) ? 0 : 0x0800; // bit 11: UTF-8 names
    const unix = e.mode !== undefined && e.mode !== null;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4); // version needed to extract (2.0)
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(e.method, 8);
    lh.writeUInt16LE(DOS_TIME, 10);
    lh.writeUInt16LE(DOS_DATE, 12);
    lh.writeUInt32LE(e.crc >>> 0, 14);
    lh.writeUInt32LE(e.compressed.length, 18);
    lh.writeUInt32LE(e.size >>> 0, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    locals.push(lh, name, e.compressed);

    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(unix ? (3 << 8) | 20 : 20, 4); // version made by (3 = UNIX)
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(flags, 8);
    ch.writeUInt16LE(e.method, 10);
    ch.writeUInt16LE(DOS_TIME, 12);
    ch.writeUInt16LE(DOS_DATE, 14);
    ch.writeUInt32LE(e.crc >>> 0, 16);
    ch.writeUInt32LE(e.compressed.length, 20);
    ch.writeUInt32LE(e.size >>> 0, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(0, 30); // extra length
    ch.writeUInt16LE(0, 32); // comment length
    ch.writeUInt16LE(0, 34); // disk number start
    ch.writeUInt16LE(0, 36); // internal attributes
    ch.writeUInt32LE(unix ? ((e.mode & 0xffff) << 16) >>> 0 : 0, 38); // external attributes
    ch.writeUInt32LE(offset, 42);
    centrals.push(ch, name);

    offset += lh.length + name.length + e.compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const commentBuf = Buffer.from(comment, 'utf8');
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0, 4);
  eocd.writeUInt16LE(0, 6);
  eocd.writeUInt16LE(rawEntries.length, 8);
  eocd.writeUInt16LE(rawEntries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  eocd.writeUInt16LE(commentBuf.length, 20);
  return Buffer.concat([...locals, cd, eocd, commentBuf]);
}

/**
 * Build a ZIP archive in memory.
 * @param {Array<{name: string, data?: Buffer|string, mode?: number, method?: 'deflate'|'store'}>} entries
 *   `mode` is a full UNIX st_mode (e.g. 0o100644, 0o100755, 0o120777 for a symlink, 0o040755 for a
 *   directory); when given, the entry is marked as made on UNIX and the mode goes to the high
 *   16 bits of the external attributes. Directory entries are names ending in '/'.
 * @returns {Buffer}
 */
export function makeZip(entries, opts = {}) {
  const raw = entries.map((e) => {
    const data = toBuffer(e.data);
    const method = e.method === 'store' || data.length === 0 ? 0 : 8;
    return {
      name: e.name,
      method,
      crc: crc32(data),
      compressed: method === 8 ? zlib.deflateRawSync(data, { level: 9 }) : data,
      size: data.length,
      mode: e.mode,
    };
  });
  return assembleZip(raw, opts);
}

/** A minimal valid Python deployment package: lambda_function.handler. */
export function pythonZip(body = 'return {"ok": True, "event": event}', extra = []) {
  const src = `import json\n\n\ndef handler(event, context):\n    ${body}\n`;
  return makeZip([{ name: 'lambda_function.py', data: src, mode: 0o100644 }, ...extra]);
}

// ---------------------------------------------------------------------------
// Hostile archives. Each one carries a harmless, valid handler next to the
// payload so the only reason to refuse it is the hostile entry itself.

const HANDLER = { name: 'lambda_function.py', data: 'def handler(e, c):\n    return 1\n', mode: 0o100644 };

/** Zip-slip: an entry that climbs out of the extraction directory. */
export function zipSlip(name = '../evil.py') {
  return makeZip([HANDLER, { name, data: 'print("pwned")\n', mode: 0o100644 }]);
}

/** An entry with an absolute path. */
export function absolutePathZip(name = '/etc/x') {
  return makeZip([HANDLER, { name, data: 'owned\n', mode: 0o100644 }]);
}

/** A symlink entry whose target escapes the package root (stored; the data is the link target). */
export function escapingSymlinkZip(target = '../../../../../../etc/passwd', name = 'passwd') {
  return makeZip([HANDLER, { name, data: target, mode: 0o120777, method: 'store' }]);
}

/**
 * A zip bomb: one deflate entry that inflates to `size` bytes of zeros (default 260 MiB, over
 * Lambda's 250 MB unzipped limit). Built with a streaming deflater in 1 MiB steps, so neither
 * the test nor the archive ever holds the inflated data; the archive itself is ~260 KB.
 * With `declaredSize`, the headers lie about the uncompressed size (a server that trusts the
 * header must still notice while inflating).
 * @returns {Promise<Buffer>}
 */
export async function zipBomb({ size = 260 * 1024 * 1024, declaredSize, name = 'zeros.bin' } = {}) {
  const chunk = Buffer.alloc(1024 * 1024);
  const deflater = zlib.createDeflateRaw({ level: 9 });
  const out = [];
  deflater.on('data', (c) => out.push(c));
  const ended = new Promise((resolve, reject) => {
    deflater.on('end', resolve);
    deflater.on('error', reject);
  });
  let crc = 0;
  let left = size;
  while (left > 0) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    crc = crc32(piece, crc);
    left -= piece.length;
    if (!deflater.write(piece)) await new Promise((resolve) => deflater.once('drain', resolve));
  }
  deflater.end();
  await ended;
  const compressed = Buffer.concat(out);
  const handler = toBuffer(HANDLER.data);
  return assembleZip([
    { name: HANDLER.name, method: 0, crc: crc32(handler), compressed: handler, size: handler.length, mode: HANDLER.mode },
    { name, method: 8, crc, compressed, size: declaredSize ?? size, mode: 0o100644 },
  ]);
}

/** Bytes that are not a zip at all. */
export function notAZip() {
  return Buffer.from('this is definitely not a zip archive\n'.repeat(8));
}

/** A valid-looking zip whose second entry's deflate stream has been overwritten with garbage. */
export function corruptZip() {
  const good = makeZip([
    HANDLER,
    { name: 'data.txt', data: 'The quick brown fox jumps over the lazy dog. '.repeat(200), mode: 0o100644 },
  ]);
  const bad = Buffer.from(good);
  const second = bad.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), 4);
  const dataStart = second + 30 + bad.readUInt16LE(second + 26) + bad.readUInt16LE(second + 28);
  const dataLen = bad.readUInt32LE(second + 18);
  for (let i = dataStart; i < dataStart + Math.min(dataLen, 40); i++) bad[i] = 0xff;
  return bad;
}

/** A zip cut short: the end-of-central-directory record is missing. */
export function truncatedZip() {
  const good = pythonZip();
  return good.subarray(0, Math.floor(good.length / 2));
}
