/**
 * What an image file is, from its bytes rather than its name: format (JPEG, PNG, WebP), size in
 * pixels and whether the file is complete (JPEG end-of-image marker after the scan, PNG IEND chunk,
 * WebP RIFF length). ffmpeg decodes a JPEG cut at 45 % without an error (the rest is grey), so the
 * classifier would be handed half a picture; a 1×1 PNG decodes fine and means nothing.
 */
import { promises as fsp } from 'node:fs';

export interface ImageHeader {
  format: 'jpeg' | 'png' | 'webp';
  width: number;
  height: number;
  /** The file ends where its format says it ends. */
  complete: boolean;
}

/** Smallest width and height accepted (the classifier's input is 224 × 224). */
export const MIN_IMAGE_SIDE = 32;

function jpeg(b: Uint8Array): ImageHeader | null {
  let width = 0;
  let height = 0;
  let i = 2;
  let scan = -1;
  while (i + 3 < b.length) {
    if (b[i] !== 0xff) return null;
    let m = b[i + 1] as number;
    while (m === 0xff && i + 2 < b.length) m = b[++i + 1] as number;
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      i += 2;
      continue;
    }
    const len = ((b[i + 2] as number) << 8) | (b[i + 3] as number);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc && i + 8 < b.length) {
      height = ((b[i + 5] as number) << 8) | (b[i + 6] as number);
      width = ((b[i + 7] as number) << 8) | (b[i + 8] as number);
    }
    if (m === 0xda) {
      scan = i + 2 + len;
      break;
    }
    i += 2 + len;
  }
  let complete = false;
  if (scan > 0) {
    for (let k = b.length - 2; k >= scan; k--) {
      if (b[k] === 0xff && b[k + 1] === 0xd9) {
        complete = true;
        break;
      }
    }
  }
  return { format: 'jpeg', width, height, complete };
}

function png(b: Uint8Array): ImageHeader {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const width = b.length >= 24 ? v.getUint32(16) : 0;
  const height = b.length >= 24 ? v.getUint32(20) : 0;
  const tail = Buffer.from(b.subarray(Math.max(0, b.length - 64))).toString('latin1');
  return { format: 'png', width, height, complete: tail.includes('IEND') };
}

function webp(b: Uint8Array): ImageHeader {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const riff = b.length >= 8 ? v.getUint32(4, true) : 0;
  const chunk = Buffer.from(b.subarray(12, 16)).toString('latin1');
  let width = 0;
  let height = 0;
  if (chunk === 'VP8 ' && b.length >= 30) {
    width = v.getUint16(26, true) & 0x3fff;
    height = v.getUint16(28, true) & 0x3fff;
  } else if (chunk === 'VP8L' && b.length >= 25) {
    width = 1 + ((((b[22] as number) & 0x3f) << 8) | (b[21] as number));
    height = 1 + ((((b[24] as number) & 0x0f) << 10) | ((b[23] as number) << 2) | (((b[22] as number) & 0xc0) >> 6));
  } else if (chunk === 'VP8X' && b.length >= 30) {
    width = 1 + ((b[24] as number) | ((b[25] as number) << 8) | ((b[26] as number) << 16));
    height = 1 + ((b[27] as number) | ((b[28] as number) << 8) | ((b[29] as number) << 16));
  }
  return { format: 'webp', width, height, complete: riff + 8 <= b.length };
}

/** The header of an image in `bytes`, or null when the bytes are not a JPEG, PNG or WebP. */
export function sniffImage(b: Uint8Array): ImageHeader | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return jpeg(b);
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return png(b);
  if (b.length >= 16 && Buffer.from(b.subarray(0, 4)).toString('latin1') === 'RIFF' && Buffer.from(b.subarray(8, 12)).toString('latin1') === 'WEBP')
    return webp(b);
  return null;
}

/** Whether a file's content is a JPEG, PNG or WebP image, whatever its name (false when unreadable). */
export async function looksLikeImage(file: string): Promise<boolean> {
  let h: fsp.FileHandle | undefined;
  try {
    h = await fsp.open(file, 'r');
  } catch {
    return false;
  }
  try {
    const buf = new Uint8Array(64);
    const { bytesRead } = await h.read(buf, 0, 64, 0);
    return sniffImage(buf.subarray(0, bytesRead)) !== null;
  } catch {
    return false;
  } finally {
    await h.close();
  }
}
