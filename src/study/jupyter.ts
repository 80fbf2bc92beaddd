/**
 * The Jupyter messaging protocol (5.3) as the study's kernel client needs it: the message and output
 * shapes, signing and decoding of ZeroMQ frames, and turning an iopub message into a notebook output.
 */
import { createHmac } from 'node:crypto';
import * as net from 'node:net';

export interface ZmqSocket {
  connect(url: string): void;
  close(): void;
  send(frames: Array<string | Buffer>): Promise<void>;
  receive(): Promise<Buffer[]>;
  subscribe?(prefix?: string): void;
}
export interface ZmqModule {
  Dealer: new () => ZmqSocket;
  Subscriber: new () => ZmqSocket;
}

export type Output =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'display_data'; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: 'execute_result'; data: Record<string, unknown>; metadata: Record<string, unknown>; execution_count: number }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

export type CellError = { ename: string; evalue: string; traceback: string[] };

export interface ExecuteResult {
  ok: boolean;
  outputs: Output[];
  executionCount: number | null;
  error: CellError | null;
}

export interface Message {
  header: { msg_id: string; msg_type: string; session: string; username: string; date: string; version: string };
  parent_header: { msg_id?: string };
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** HMAC-SHA256 of the message parts with the connection key. */
export function sign(key: string, parts: string[]): string {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** A message from its ZeroMQ frames; null when it is not one or its signature is not ours. */
export function decodeMessage(key: string, frames: Buffer[]): Message | null {
  const i = frames.findIndex((f) => f.toString() === '<IDS|MSG>');
  if (i < 0 || frames.length < i + 6) return null;
  const [sig, h, p, md, c] = frames.slice(i + 1, i + 6).map((f) => f.toString()) as [string, string, string, string, string];
  if (sig !== sign(key, [h, p, md, c])) return null; // not ours / tampered
  return { header: JSON.parse(h), parent_header: JSON.parse(p), metadata: JSON.parse(md), content: JSON.parse(c) } as Message;
}

/** The output an iopub message carries (null for status and other messages), appended to `outputs` (streams merged). */
export function messageOutput(m: Message, outputs: Output[]): Output | null {
  const c = m.content;
  const meta = () => (c['metadata'] as Record<string, unknown>) ?? {};
  switch (m.header.msg_type) {
    case 'stream': {
      const name = c['name'] === 'stderr' ? 'stderr' : 'stdout';
      const last = outputs[outputs.length - 1];
      if (last && last.output_type === 'stream' && last.name === name) last.text += String(c['text']);
      else outputs.push({ output_type: 'stream', name, text: String(c['text']) });
      return { output_type: 'stream', name, text: String(c['text']) };
    }
    case 'display_data': {
      const output: Output = { output_type: 'display_data', data: c['data'] as Record<string, unknown>, metadata: meta() };
      outputs.push(output);
      return output;
    }
    case 'execute_result': {
      const output: Output = {
        output_type: 'execute_result',
        data: c['data'] as Record<string, unknown>,
        metadata: meta(),
        execution_count: Number(c['execution_count']),
      };
      outputs.push(output);
      return output;
    }
    case 'error': {
      const output: Output = { output_type: 'error', ename: String(c['ename']), evalue: String(c['evalue']), traceback: (c['traceback'] as string[]) ?? [] };
      outputs.push(output);
      return output;
    }
    default:
      return null;
  }
}

/** tslab reports a failed cell with an empty error and writes the exception to stderr: use that text. */
export function failedCellError(outputs: Output[], reply: Record<string, unknown>): CellError {
  const stderr = outputs
    .filter((x): x is Extract<Output, { output_type: 'stream' }> => x.output_type === 'stream' && x.name === 'stderr')
    .map((x) => x.text)
    .join('');
  const lines = stderr.split('\n');
  const first = lines.find((l) => /^\w*Error\b|Error:/.test(l.trim())) ?? lines.filter((l) => l.trim()).pop() ?? 'cell failed';
  return { ename: String(reply['ename'] || 'Error'), evalue: String(reply['evalue'] || first.trim()), traceback: stderr ? lines : [] };
}
