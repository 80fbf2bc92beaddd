/**
 * Reader for Qt resource bundles (.rcc, magic "qres", format versions 1–3). GCompris ships its
 * sounds inside such bundles; the embedded-data builder takes cat and dog sounds out of them.
 * Written by hand because no npm package reads this format; it needs only node:zlib.
 *
 * Layout: header (magic, version, tree/data/names offsets, v3 flags); a tree of fixed-size nodes
 * (14 bytes in v1, 22 in v2+): name offset, flags (1 zlib-compressed, 2 directory, 4 zstd),
 * then child count + first child index (directories) or locale + data offset (files).
 * Names: u16 length, u32 hash, UTF-16BE text. Data: u32 size, then bytes; zlib data starts with a
 * u32 uncompressed size (qCompress format).
 */
import { inflateSync } from 'node:zlib';

export interface QresEntry {
  path: string;
  compressed: 'none' | 'zlib' | 'zstd';
  data: () => Buffer;
}

const FLAG_COMPRESSED = 1;
const FLAG_DIRECTORY = 2;
const FLAG_ZSTD = 4;

export function readQres(buf: Buffer, file = 'resource bundle'): QresEntry[] {
  if (buf.length < 20 || buf.toString('latin1', 0, 4) !== 'qres') throw new Error(`${file}: not a Qt resource bundle (no 'qres' magic)`);
  const version = buf.readUInt32BE(4);
  if (version < 1 || version > 3) throw new Error(`${file}: unsupported qres version ${version}`);
  const treeOff = buf.readUInt32BE(8);
  const dataOff = buf.readUInt32BE(12);
  const namesOff = buf.readUInt32BE(16);
  const nodeSize = version >= 2 ? 22 : 14;

  const nameAt = (off: number): string => {
    const at = namesOff + off;
    const len = buf.readUInt16BE(at);
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(buf.readUInt16BE(at + 6 + 2 * i));
    return s;
  };
  const entries: QresEntry[] = [];
  const visit = (index: number, prefix: string, depth: number): void => {
    if (depth > 64) throw new Error(`${file}: resource tree too deep`);
    const at = treeOff + index * nodeSize;
    if (at + nodeSize > buf.length) throw new Error(`${file}: tree node ${index} lies outside the file`);
    const flags = buf.readUInt16BE(at + 4);
    const name = index === 0 ? '' : nameAt(buf.readUInt32BE(at));
    const here = index === 0 ? '' : `${prefix}/${name}`;
    if (flags & FLAG_DIRECTORY) {
      const count = buf.readUInt32BE(at + 6);
      const first = buf.readUInt32BE(at + 10);
      for (let c = 0; c < count; c++) visit(first + c, here, depth + 1);
      return;
    }
    const offset = dataOff + buf.readUInt32BE(at + 10);
    const compressed = flags & FLAG_ZSTD ? 'zstd' : flags & FLAG_COMPRESSED ? 'zlib' : 'none';
    entries.push({
      path: here,
      compressed,
      data: () => {
        const size = buf.readUInt32BE(offset);
        const raw = buf.subarray(offset + 4, offset + 4 + size);
        if (compressed === 'none') return Buffer.from(raw);
        if (compressed === 'zlib') return inflateSync(raw.subarray(4));
        throw new Error(`${file}: ${here} is zstd-compressed, which this reader does not support`);
      },
    });
  };
  visit(0, '', 0);
  return entries;
}
