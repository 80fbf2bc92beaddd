import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readQres } from '../scripts/lib/qres';
import { Rng } from '../src/util/rng';

describe('Rng', () => {
  it('saves and restores its state mid-stream (for exact resume)', () => {
    const r = new Rng(42);
    for (let i = 0; i < 10; i++) r.uniform();
    const saved = JSON.parse(JSON.stringify(r.getState()));
    const next = [r.uniform(), r.normal(), r.int(100)];
    const restored = Rng.fromState(saved);
    expect([restored.uniform(), restored.normal(), restored.int(100)]).toEqual(next);
  });
});

/** Build a qres v3 bundle: /a/x.txt (plain) and /a/y.bin (zlib, qCompress format). */
function buildQres(): Buffer {
  const names = ['a', 'x.txt', 'y.bin'];
  const nameBufs: Buffer[] = [];
  const nameOff: number[] = [];
  let off = 0;
  for (const n of names) {
    const b = Buffer.alloc(6 + 2 * n.length);
    b.writeUInt16BE(n.length, 0);
    b.writeUInt32BE(0, 2);
    for (let i = 0; i < n.length; i++) b.writeUInt16BE(n.charCodeAt(i), 6 + 2 * i);
    nameOff.push(off);
    off += b.length;
    nameBufs.push(b);
  }
  const plain = Buffer.from('hello');
  const raw = Buffer.from('compressed payload '.repeat(20));
  const z = Buffer.concat([Buffer.from([0, 0, 0, 0]), deflateSync(raw)]);
  z.writeUInt32BE(raw.length, 0);
  const dataBufs = [plain, z].map((d) => {
    const b = Buffer.alloc(4 + d.length);
    b.writeUInt32BE(d.length, 0);
    d.copy(b, 4);
    return b;
  });
  const node = (nameO: number, flags: number, a: number, b: number, fileData?: number) => {
    const n = Buffer.alloc(22);
    n.writeUInt32BE(nameO, 0);
    n.writeUInt16BE(flags, 4);
    if (fileData === undefined) {
      n.writeUInt32BE(a, 6);
      n.writeUInt32BE(b, 10);
    } else {
      n.writeUInt32BE(fileData, 10);
    }
    return n;
  };
  const tree = Buffer.concat([
    node(0, 2, 1, 1), // root: 1 child at index 1
    node(nameOff[0]!, 2, 2, 2), // /a: 2 children at index 2
    node(nameOff[1]!, 0, 0, 0, 0),
    node(nameOff[2]!, 1, 0, 0, dataBufs[0]!.length),
  ]);
  const header = Buffer.alloc(24);
  header.write('qres', 0);
  header.writeUInt32BE(3, 4);
  const treeOff = 24;
  const dataOff = treeOff + tree.length;
  const namesOff = dataOff + dataBufs[0]!.length + dataBufs[1]!.length;
  header.writeUInt32BE(treeOff, 8);
  header.writeUInt32BE(dataOff, 12);
  header.writeUInt32BE(namesOff, 16);
  return Buffer.concat([header, tree, ...dataBufs, ...nameBufs]);
}

describe('Qt resource bundle reader', () => {
  it('lists entries and returns plain and zlib data', () => {
    const entries = readQres(buildQres());
    expect(entries.map((e) => `${e.path}:${e.compressed}`)).toEqual(['/a/x.txt:none', '/a/y.bin:zlib']);
    expect(entries[0]!.data().toString()).toBe('hello');
    expect(entries[1]!.data().toString()).toBe('compressed payload '.repeat(20));
  });
  it('rejects other files', () => {
    expect(() => readQres(Buffer.from('not a bundle at all'), 'f.rcc')).toThrow(/f\.rcc: not a Qt resource bundle/);
  });
});
