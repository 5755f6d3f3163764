/**
 * ONNX ops for the TF.js layers that do not own a kernel: activation layers, merges, concatenation, reshaping,
 * padding, cropping, up-sampling and the inference identities (dropout, noise). Internal: not exported.
 */
import { cfAxis, type GraphBuilder, type Layout, type Value } from './layers-builder.js';
import { activate, unsupported, type LayerCall } from './layer-ops.js';

const out = (c: LayerCall, layout: Layout, name: string): Value => {
  const shape = c.outShapes[0]!;
  return layout === 'cf' ? { cf: name, rank: shape.length, shape } : { tf: name, rank: shape.length, shape };
};

/** The layout an op that works on any layout should use for its one input (the one it already has, cf first). */
const own = (x: Value): Layout => (x.cf !== undefined ? 'cf' : 'tf');

/** The ONNX axis of TF.js axis `axis` in `layout`. */
const axisIn = (layout: Layout, axis: number, rank: number): number => (layout === 'cf' ? cfAxis(axis, rank) : axis < 0 ? axis + rank : axis);

function activationLayer(b: GraphBuilder, c: LayerCall): Value {
  const x = c.inputs[0]!;
  const layout = own(x);
  const v = b.get(x, layout);
  const scalar = (n: string, f: number): string => b.floats(`${c.name}/${n}`, [], Float32Array.of(f));
  switch (c.className) {
    case 'Activation':
      return out(c, layout, activate(b, c, v, c.config['activation'], axisIn(layout, -1, x.rank)));
    case 'Softmax': {
      const axis = c.config['axis'];
      if (Array.isArray(axis) && axis.length !== 1) throw unsupported(c, 'takes the softmax over several axes');
      const a = Array.isArray(axis) ? (axis[0] as number) : typeof axis === 'number' ? axis : -1;
      return out(c, layout, b.op('Softmax', [v], `${c.name}/softmax`, { axis: { i: axisIn(layout, a, x.rank) } }));
    }
    case 'ReLU': {
      const max = c.config['maxValue'];
      if (typeof max === 'number') return out(c, layout, b.op('Clip', [v, scalar('min', 0), scalar('max', max)], `${c.name}/relu`));
      return out(c, layout, b.op('Relu', [v], `${c.name}/relu`));
    }
    case 'LeakyReLU':
      return out(c, layout, b.op('LeakyRelu', [v], `${c.name}/leaky_relu`, { alpha: { f: typeof c.config['alpha'] === 'number' ? c.config['alpha'] : 0.3 } }));
    case 'ELU':
      return out(c, layout, b.op('Elu', [v], `${c.name}/elu`, { alpha: { f: typeof c.config['alpha'] === 'number' ? c.config['alpha'] : 1 } }));
    default:
      throw unsupported(c, 'is not an activation the converter knows');
  }
}

const MERGE_OPS: Readonly<Record<string, string>> = { Add: 'Sum', Multiply: 'Mul', Subtract: 'Sub', Average: 'Mean', Maximum: 'Max', Minimum: 'Min' };

function merge(b: GraphBuilder, c: LayerCall): Value {
  const op = MERGE_OPS[c.className]!;
  const layout = b.shared(c.inputs);
  // Inputs of different ranks: TF.js' Merge inserts the missing axes at position 1 of the lower-rank ones
  // ([N, C] → [N, 1, 1, C]) before broadcasting, where ONNX would align them from the left. shared() chose channels
  // last for mixed ranks, so the same Unsqueeze at axes 1 … reproduces TF.js.
  const rank = Math.max(...c.inputs.map((v) => v.rank));
  const names = c.inputs.map((v, i) => {
    const x = b.get(v, layout);
    if (v.rank === rank) return x;
    const axes = b.ints(`${c.name}/axes${i}`, Array.from({ length: rank - v.rank }, (_, k) => k + 1));
    return b.op('Unsqueeze', [x, axes], `${c.name}/unsqueeze${i}`);
  });
  if (op === 'Mul' || op === 'Sub') {
    // Binary in ONNX: fold left, as TF.js does (Subtract takes exactly two inputs).
    let y = names[0]!;
    for (let i = 1; i < names.length; i++) y = b.op(op, [y, names[i]!], `${c.name}/${op.toLowerCase()}`);
    return out(c, layout, y);
  }
  return out(c, layout, names.length === 1 ? names[0]! : b.op(op, names, `${c.name}/${op.toLowerCase()}`));
}

function concatenate(b: GraphBuilder, c: LayerCall): Value {
  const layout = b.shared(c.inputs);
  const axis = typeof c.config['axis'] === 'number' ? (c.config['axis'] as number) : -1;
  const rank = c.inputs[0]!.rank;
  return out(c, layout, b.op('Concat', c.inputs.map((v) => b.get(v, layout)), `${c.name}/concat`, { axis: { i: axisIn(layout, axis, rank) } }));
}

function flatten(b: GraphBuilder, c: LayerCall): Value {
  const f = c.config['dataFormat'];
  if (f !== undefined && f !== null && f !== 'channelsLast') throw unsupported(c, `uses dataFormat '${String(f)}'`);
  // Element order is TF.js' (channels last), so the channels-last copy is flattened.
  return out(c, 'tf', b.op('Flatten', [b.tf(c.inputs[0]!)], `${c.name}/flatten`, { axis: { i: 1 } }));
}

function reshape(b: GraphBuilder, c: LayerCall): Value {
  const target = c.config['targetShape'];
  if (!Array.isArray(target)) throw unsupported(c, 'has no targetShape');
  // 0 copies the batch dimension (allowzero is 0 by default).
  const shape = b.ints(`${c.name}/shape`, [0, ...(target as number[]).map((d) => (d === null ? -1 : d))]);
  return out(c, 'tf', b.op('Reshape', [b.tf(c.inputs[0]!), shape], `${c.name}/reshape`));
}

/** [[top, bottom], [left, right]] from a number, a pair or a pair of pairs (TF.js' forms). */
function pairs(v: unknown): [[number, number], [number, number]] {
  if (typeof v === 'number') return [[v, v], [v, v]];
  const [h, w] = v as [unknown, unknown];
  const p = (e: unknown): [number, number] => (typeof e === 'number' ? [e, e] : (e as [number, number]));
  return [p(h), p(w)];
}

function zeroPadding(b: GraphBuilder, c: LayerCall): Value {
  if (c.inputs[0]!.rank !== 4) throw unsupported(c, 'has an input that is not rank 4');
  const [[t, bo], [l, r]] = pairs(c.config['padding']);
  const pads = b.ints(`${c.name}/pads`, [0, 0, t, l, 0, 0, bo, r]);
  return out(c, 'cf', b.op('Pad', [b.cf(c.inputs[0]!), pads], `${c.name}/pad`));
}

function cropping(b: GraphBuilder, c: LayerCall): Value {
  const x = c.inputs[0]!;
  if (x.rank !== 4) throw unsupported(c, 'has an input that is not rank 4');
  const [[t, bo], [l, r]] = pairs(c.config['cropping']);
  const [h, w] = [x.shape[1], x.shape[2]];
  if (h === null || w === null || h === undefined || w === undefined) throw unsupported(c, 'crops an input of unknown spatial size');
  const starts = b.ints(`${c.name}/starts`, [t, l]);
  const ends = b.ints(`${c.name}/ends`, [h - bo, w - r]);
  const axes = b.ints(`${c.name}/axes`, [2, 3]);
  return out(c, 'cf', b.op('Slice', [b.cf(x), starts, ends, axes], `${c.name}/slice`));
}

function upSampling(b: GraphBuilder, c: LayerCall): Value {
  const f = c.config['dataFormat'];
  if (f !== undefined && f !== null && f !== 'channelsLast') throw unsupported(c, `uses dataFormat '${String(f)}'`);
  const [sh, sw] = Array.isArray(c.config['size']) ? (c.config['size'] as number[]) : [2, 2];
  const bilinear = c.config['interpolation'] === 'bilinear';
  const scales = b.floats(`${c.name}/scales`, [4], Float32Array.of(1, 1, sh!, sw!));
  // TF.js: nearest repeats each pixel; bilinear is resizeBilinear without align-corners or half-pixel centres.
  const y = b.op('Resize', [b.cf(c.inputs[0]!), '', scales], `${c.name}/resize`, {
    mode: { s: bilinear ? 'linear' : 'nearest' },
    coordinate_transformation_mode: { s: 'asymmetric' },
    nearest_mode: { s: 'floor' },
  });
  return out(c, 'cf', y);
}

/**
 * Layers that are the identity at inference: the output is the input's value itself (same object, so a layout built
 * for one is built for both).
 */
function identity(_b: GraphBuilder, c: LayerCall): Value {
  return c.inputs[0]!;
}

export { activationLayer, merge, concatenate, flatten, reshape, zeroPadding, cropping, upSampling, identity, MERGE_OPS };
