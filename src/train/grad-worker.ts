/**
 * A gradient worker of data-parallel training (see parallel.ts): a worker thread with its own tfjs
 * backend and a replica of the model. Each step it receives the current weights and its share of
 * the batch, and sends back the loss, the logged scalars, the gradients (in the order of the weights)
 * and the tensors the task's afterStep needs.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend/index';
import { errorMessage } from '../util/errors';
import { createReplica, type Replica, type ReplicaSpec } from './replica';
import { fromWire, toWire, type WireTensor } from './wire';

type Message =
  | { type: 'init'; spec: ReplicaSpec; backend: BackendName; names: string[]; stateNames: string[] }
  | { type: 'step'; id: number; weights: Float32Array[]; batch: WireTensor[]; seed: number | null };

let replica: Replica | null = null;
let vars: tf.Variable[] = [];
let state: tf.Variable[] = [];

async function handle(m: Message): Promise<void> {
  if (m.type === 'init') {
    const info = await initBackend({ backend: m.backend });
    replica = createReplica(m.spec);
    const trainable = replica.params.trainable();
    vars = m.names.map((n) => {
      const v = trainable.get(n);
      if (!v) throw new Error(`the worker's model has no trainable '${n}'`);
      return v;
    });
    const params = replica.params;
    state = m.stateNames.map((n) => {
      if (!params.has(n)) throw new Error(`the worker's model has no parameter '${n}'`);
      return params.get(n);
    });
    parentPort?.postMessage({ type: 'ready', backend: info.name });
    return;
  }
  if (!replica) throw new Error('step before init');
  const r = replica;
  // every parameter, trainable or not (EMA codebooks, restarted codes), as the main thread has it now
  state.forEach((v, i) => {
    const t = tf.tensor(m.weights[i] as Float32Array, v.shape);
    v.assign(t);
    t.dispose(); // the variable holds its own reference to the data
  });
  const batch = m.batch.map(fromWire);
  let scalars: Record<string, tf.Scalar> = {};
  let keep: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = r.forward(batch, m.seed);
    scalars = Object.fromEntries(Object.entries(out.scalars).map(([k, t]) => [k, tf.keep(t)]));
    keep = out.keep.map((t) => tf.keep(t));
    return out.loss;
  }, vars);
  const gradArrays = vars.map((v) => (grads[v.name] ? ((grads[v.name] as tf.Tensor).dataSync() as Float32Array).slice() : new Float32Array(v.size)));
  const loss = (value.dataSync() as Float32Array)[0];
  const scalarValues = Object.fromEntries(Object.entries(scalars).map(([k, t]) => [k, (t.dataSync() as Float32Array)[0]]));
  const kept = await Promise.all(keep.map(toWire));
  tf.dispose([value, Object.values(grads), Object.values(scalars), keep, batch]);
  parentPort?.postMessage({ type: 'result', id: m.id, loss, scalars: scalarValues, grads: gradArrays, keep: kept, tensors: tf.memory().numTensors }, [
    ...gradArrays.map((g) => g.buffer as ArrayBuffer),
    ...kept.map((k) => k.data.buffer as ArrayBuffer),
  ]);
}

parentPort?.on('message', (m: Message) => {
  handle(m).catch((e: unknown) => parentPort?.postMessage({ type: 'error', message: errorMessage(e) }));
});
