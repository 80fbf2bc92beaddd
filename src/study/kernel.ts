/**
 * A minimal Jupyter client for the tslab kernel, over ZeroMQ (the `zeromq` package tslab itself
 * uses): start `tslab kernel` with a connection file, sign messages (HMAC-SHA256, Jupyter messaging
 * protocol 5.3), execute code and collect its outputs as they stream. Written here because no
 * maintained Node package drives a Jupyter kernel headless; nbconvert needs Python Jupyter, and a
 * Node runner also writes the notebook when a cell fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../util/project';
import {
  decodeMessage,
  type ExecuteResult,
  failedCellError,
  freePort,
  type Message,
  messageOutput,
  type Output,
  sign,
  type ZmqModule,
  type ZmqSocket,
} from './jupyter';

export type { ExecuteResult, Output } from './jupyter';

export class TslabKernel {
  private readonly key: string;
  private readonly session = randomUUID();
  private shell: ZmqSocket | null = null;
  private iopub: ZmqSocket | null = null;
  private control: ZmqSocket | null = null;
  private proc: ChildProcess | null = null;
  private connFile = '';
  private stderrTail = '';
  private readonly pending = new Map<string, (m: Message) => void>();
  private pumping = false;

  constructor() {
    this.key = randomBytes(16).toString('hex');
  }

  private async sendOn(sock: ZmqSocket, msgType: string, content: Record<string, unknown>): Promise<string> {
    const header = {
      msg_id: randomUUID(),
      msg_type: msgType,
      session: this.session,
      username: 'soundtrack-lab',
      date: new Date().toISOString(),
      version: '5.3',
    };
    const parts = [JSON.stringify(header), '{}', '{}', JSON.stringify(content)];
    await sock.send(['<IDS|MSG>', sign(this.key, parts), ...parts]);
    return header.msg_id;
  }

  private decode(frames: Buffer[]): Message | null {
    return decodeMessage(this.key, frames);
  }

  /** Start the kernel in the project root and wait until it answers. */
  async start(options: { timeoutMs?: number } = {}): Promise<void> {
    const zmq = (await import('zeromq')) as unknown as ZmqModule & { default?: ZmqModule };
    const Z = zmq.Dealer ? zmq : (zmq.default as ZmqModule);
    const ports = {
      shell_port: await freePort(),
      iopub_port: await freePort(),
      stdin_port: await freePort(),
      control_port: await freePort(),
      hb_port: await freePort(),
    };
    const conn = { ...ports, ip: '127.0.0.1', transport: 'tcp', signature_scheme: 'hmac-sha256', key: this.key, kernel_name: 'tslab' };
    this.connFile = path.join(os.tmpdir(), `soundtrack-kernel-${process.pid}-${randomBytes(3).toString('hex')}.json`);
    await fsp.writeFile(this.connFile, JSON.stringify(conn));
    const root = projectRoot();
    this.proc = spawn(process.execPath, [path.join(root, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', '--config-path', this.connFile], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
    const url = (p: number) => `tcp://127.0.0.1:${p}`;
    this.shell = new Z.Dealer();
    this.shell.connect(url(ports.shell_port));
    this.control = new Z.Dealer();
    this.control.connect(url(ports.control_port));
    this.iopub = new Z.Subscriber();
    this.iopub.subscribe?.('');
    this.iopub.connect(url(ports.iopub_port));
    void this.pump();
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    // kernel_info_request until the kernel replies (it takes a moment to bind its sockets)
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`the tslab kernel exited (${this.proc.exitCode}): ${this.stderrTail}`);
      const id = await this.sendOn(this.shell, 'kernel_info_request', {});
      const reply = await Promise.race([this.waitShell(id), new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
      if (reply) break;
      this.pending.delete(id);
      if (Date.now() > deadline) throw new Error(`the tslab kernel did not answer within ${options.timeoutMs ?? 60_000} ms: ${this.stderrTail}`);
    }
  }

  private readonly iopubListeners = new Set<(m: Message) => void>();

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    const shellLoop = async () => {
      while (this.shell) {
        let frames: Buffer[];
        try {
          frames = await this.shell.receive();
        } catch {
          return;
        }
        const m = this.decode(frames);
        const id = m?.parent_header.msg_id;
        if (m && id && this.pending.has(id)) {
          (this.pending.get(id) as (m: Message) => void)(m);
          this.pending.delete(id);
        }
      }
    };
    const iopubLoop = async () => {
      while (this.iopub) {
        let frames: Buffer[];
        try {
          frames = await this.iopub.receive();
        } catch {
          return;
        }
        const m = this.decode(frames);
        if (m) for (const l of this.iopubListeners) l(m);
      }
    };
    void shellLoop();
    void iopubLoop();
  }

  private waitShell(id: string): Promise<Message> {
    return new Promise((resolve) => this.pending.set(id, resolve));
  }

  /** Execute code; `onOutput` sees each output as it arrives (for live progress). */
  async execute(code: string, onOutput?: (output: Output) => void, timeoutMs = 3_600_000): Promise<ExecuteResult> {
    if (!this.shell) throw new Error('kernel not started');
    const outputs: Output[] = [];
    let error: ExecuteResult['error'] = null;
    let msgId = '';
    let idle!: () => void;
    const done = new Promise<void>((r) => (idle = r));
    const listener = (m: Message) => {
      if (m.parent_header.msg_id !== msgId) return;
      const output = messageOutput(m, outputs);
      if (output?.output_type === 'error') error = { ename: output.ename, evalue: output.evalue, traceback: output.traceback };
      if (m.header.msg_type === 'status' && m.content['execution_state'] === 'idle') idle();
      if (output) onOutput?.(output);
    };
    this.iopubListeners.add(listener);
    try {
      msgId = await this.sendOn(this.shell, 'execute_request', {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
      });
      const reply = this.waitShell(msgId);
      const timer = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`cell did not finish within ${timeoutMs / 1000} s`)), timeoutMs).unref());
      const r = await Promise.race([Promise.all([reply, done]), timer]);
      const content = r[0].content;
      const ok = content['status'] === 'ok';
      if (!ok && !error) {
        error = failedCellError(outputs, content);
      }
      return { ok, outputs, executionCount: Number(content['execution_count']) || null, error };
    } finally {
      this.iopubListeners.delete(listener);
    }
  }

  async shutdown(): Promise<void> {
    try {
      if (this.control) await this.sendOn(this.control, 'shutdown_request', { restart: false });
    } catch {
      // the kernel may already be gone
    }
    await new Promise((r) => setTimeout(r, 200));
    this.proc?.kill('SIGKILL');
    for (const s of [this.shell, this.iopub, this.control]) s?.close();
    this.shell = this.iopub = this.control = null;
    await fsp.rm(this.connFile, { force: true });
  }
}
