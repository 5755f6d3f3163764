import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, buildResidualCnn, gradCam, heatmapToPng, initRuntime, integratedGradients, saliencyMap, seededRandom, tf, train, type Heatmap } from '@lepton/core';

const SIZE = 16;
const SQ = 5;

/** Seeded images: background noise; positives carry a bright square at a random place. */
function squares(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D; boxes: Array<[number, number] | null> } {
  const rand = seededRandom(seed);
  const data = new Float32Array(n * SIZE * SIZE);
  const labels = new Float32Array(n);
  const boxes: Array<[number, number] | null> = [];
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < SIZE * SIZE; p++) data[i * SIZE * SIZE + p] = rand() * 0.3;
    if (i % 2 === 1) {
      const r = Math.floor(rand() * (SIZE - SQ));
      const c = Math.floor(rand() * (SIZE - SQ));
      for (let dr = 0; dr < SQ; dr++) for (let dc = 0; dc < SQ; dc++) data[i * SIZE * SIZE + (r + dr) * SIZE + c + dc] = 1;
      labels[i] = 1;
      boxes.push([r, c]);
    } else boxes.push(null);
  }
  return { x: tf.tensor4d(data, [n, SIZE, SIZE, 1]), y: tf.tensor2d(labels, [n, 1]), boxes };
}

function insideOutside(map: Heatmap, [r, c]: [number, number]): { inside: number; outside: number } {
  let inside = 0;
  let outside = 0;
  for (let i = 0; i < map.height; i++) {
    for (let j = 0; j < map.width; j++) {
      const v = map.data[i * map.width + j]!;
      if (i >= r && i < r + SQ && j >= c && j < c + SQ) inside += v;
      else outside += v;
    }
  }
  return { inside: inside / (SQ * SQ), outside: outside / (map.width * map.height - SQ * SQ) };
}

let cnn: tf.LayersModel;
let test: ReturnType<typeof squares>;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  const trainSet = squares(240, 1);
  test = squares(20, 2);
  cnn = buildResidualCnn({ inputShape: [SIZE, SIZE, 1], numClasses: 1, filters: [8, 16], dropout: 0, seed: 4 });
  const r = await train(cnn, { x: trainSet.x, y: trainSet.y }, { epochs: 8, learningRate: 5e-3, batchSize: 24, seed: 4, earlyStopping: false, progressBar: false });
  expect(r.history.at(-1)!.metrics['loss']).toBeLessThan(0.3);
  tf.dispose([trainSet.x, trainSet.y]);
}, 240_000);

describe('Grad-CAM and saliency on a CNN trained to find a bright square', () => {
  it('Grad-CAM heat concentrates on the square', async () => {
    const ratios: number[] = [];
    for (let i = 1; i < 20; i += 2) {
      const image = tf.slice(test.x, [i, 0, 0, 0], [1, SIZE, SIZE, 1]);
      const map = await gradCam(cnn, image);
      expect(map.width).toBe(SIZE);
      expect(map.height).toBe(SIZE);
      expect(Math.max(...map.data)).toBeCloseTo(1, 5);
      const { inside, outside } = insideOutside(map, test.boxes[i]!);
      ratios.push(inside / Math.max(outside, 1e-6));
      image.dispose();
    }
    ratios.sort((a, b) => a - b);
    expect(ratios[Math.floor(ratios.length / 2)]).toBeGreaterThan(2); // median image: square is ≥ 2× hotter
  });

  it('gradient saliency concentrates on the square', async () => {
    const ratios: number[] = [];
    for (let i = 1; i < 20; i += 2) {
      const image = tf.squeeze(tf.slice(test.x, [i, 0, 0, 0], [1, SIZE, SIZE, 1]), [0]);
      const map = await saliencyMap(cnn, image, { classIndex: 0 });
      const { inside, outside } = insideOutside(map, test.boxes[i]!);
      ratios.push(inside / Math.max(outside, 1e-6));
      image.dispose();
    }
    ratios.sort((a, b) => a - b);
    expect(ratios[Math.floor(ratios.length / 2)]).toBeGreaterThan(1.5);
  });

  it('explanations leak no tensors, and bad input is a typed error', async () => {
    const image = tf.slice(test.x, [1, 0, 0, 0], [1, SIZE, SIZE, 1]);
    await gradCam(cnn, image); // builds and caches the head once
    const before = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) {
      await gradCam(cnn, image);
      await saliencyMap(cnn, image);
    }
    expect(tf.memory().numTensors).toBe(before);
    await expect(gradCam(cnn, tf.zeros([8, 8, 1]))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(gradCam(cnn, image, { layerName: 'nope' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(gradCam(buildMlp({ inputDim: 3 }), tf.zeros([3]))).rejects.toMatchObject({ code: 'EXPLAIN_UNSUPPORTED' });
    image.dispose();
  });

  it('renders a PNG overlay', async () => {
    const image = tf.slice(test.x, [1, 0, 0, 0], [1, SIZE, SIZE, 1]);
    const map = await gradCam(cnn, image);
    const png = PNG.sync.read(heatmapToPng(map, { base: image.dataSync(), alpha: 0.7 }));
    expect([png.width, png.height]).toEqual([SIZE, SIZE]);
    const hottest = map.data.indexOf(Math.max(...map.data));
    expect(png.data[hottest * 4]!).toBeGreaterThan(png.data[hottest * 4 + 2]!); // red over blue where hottest
    expect(() => heatmapToPng(map, { base: new Float32Array(3) })).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    image.dispose();
  });
});

describe('integrated gradients', () => {
  it('attributes the score to the feature that drives it, and is complete', async () => {
    const n = 800;
    const x = tf.randomNormal([n, 4], 0, 1, 'float32', 11);
    const y = tf.cast(tf.greater(tf.slice(x, [0, 2], [-1, 1]), 0), 'float32'); // only feature 2 matters
    const mlp = buildMlp({ inputDim: 4, hiddenUnits: [16], seed: 6, dropout: 0 });
    await train(mlp, { x, y }, { epochs: 10, learningRate: 1e-2, seed: 6, earlyStopping: false, progressBar: false });
    const names = ['amount', 'hour', 'velocity', 'distance'];
    const before = tf.memory().numTensors;
    const ig = await integratedGradients(mlp, [0.1, -0.2, 2.0, 0.3], { featureNames: names, topK: 2, steps: 128 });
    expect(tf.memory().numTensors).toBe(before);
    expect(ig.top[0]).toMatchObject({ feature: 'velocity', index: 2, value: 2 });
    expect(ig.top[0]!.attribution).toBeGreaterThan(0);
    expect(ig.top).toHaveLength(2);
    expect(ig.score).toBeGreaterThan(ig.baselineScore);
    expect(ig.completenessGap).toBeLessThan(0.01 * Math.abs(ig.score - ig.baselineScore) + 1e-4);
    const negative = await integratedGradients(mlp, [0, 0, -2, 0], { featureNames: names });
    expect(negative.top[0]).toMatchObject({ feature: 'velocity' });
    expect(negative.top[0]!.attribution).toBeLessThan(0);
    await expect(integratedGradients(mlp, [1, 2])).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    tf.dispose([x, y]);
  });
});

describe('Grad-CAM geometry', () => {
  it('upsamples with pixel centres aligned: one hot 4×4 cell comes back centred on its 16×16 pixels', async () => {
    // A 4×4-stride convolution summed by a dense layer of ones: the class score's gradient is 1 on every cell, so the
    // Grad-CAM map before upsampling is the activation itself — one hot cell at (1, 1), covering pixels 4…7.
    const input = tf.input({ shape: [16, 16, 1] });
    const conv = tf.layers.conv2d({ filters: 1, kernelSize: 4, strides: 4, useBias: false, kernelInitializer: 'ones', name: 'cells' }).apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(conv) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, useBias: false, kernelInitializer: 'ones' }).apply(flat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const pixels = new Float32Array(256);
    for (let r = 4; r < 8; r++) for (let c = 4; c < 8; c++) pixels[r * 16 + c] = 1;
    const image = tf.tensor3d(pixels, [16, 16, 1]);
    const map = await gradCam(model, image, { classIndex: 0, layerName: 'cells' });
    let sum = 0;
    let cx = 0;
    let cy = 0;
    for (let r = 0; r < 16; r++) {
      for (let c = 0; c < 16; c++) {
        const v = map.data[r * 16 + c]!;
        sum += v;
        cx += v * c;
        cy += v * r;
      }
    }
    // The cell's pixels are 4…7, centre 5.5. Without aligned centres the map peaks at pixel 4 (centroid 4.0).
    expect(cx / sum).toBeCloseTo(5.5, 3);
    expect(cy / sum).toBeCloseTo(5.5, 3);
    image.dispose();
    model.dispose();
  });
});
