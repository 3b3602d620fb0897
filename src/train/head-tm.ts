// The comparison baseline: a Teachable-Machine-style head (dense 100 ReLU, dense softmax, Adam 1e-3,
// 50 epochs, batch 16) trained with the layers API's model.fit, no standardisation and no class
// weights. It exists to measure the custom head against; it is slow on WASM (see head-train.ts).

import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';
import {
  DEFAULT_HEAD_SETTINGS,
  checkData,
  type EpochReport,
  type HeadData,
  type TrainedHead,
} from './head-types';
import { throwIfCancelled } from './head-util';

const TM_HIDDEN_UNITS = 100;
const TM_LEARNING_RATE = 1e-3;
const TM_EPOCHS = 50;
const TM_BATCH_SIZE = 16;

export async function trainTeachableMachineHead(
  train: HeadData,
  numClasses: number,
  opts: {
    validation?: HeadData;
    seed?: number;
    epochs?: number;
    signal?: AbortSignal;
    onEpoch?: (r: EpochReport) => void;
  } = {},
): Promise<TrainedHead> {
  checkData(train, numClasses, 'training');
  if (opts.validation) checkData(opts.validation, numClasses, 'validation', train.d);
  const seed = opts.seed ?? 1;
  const epochs = opts.epochs ?? TM_EPOCHS;
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new GlimpseError(
      'invalid-input',
      `Epochs must be a positive whole number, got ${epochs}.`,
    );
  throwIfCancelled(opts.signal);

  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [train.d],
        units: TM_HIDDEN_UNITS,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        useBias: true,
      }),
      tf.layers.dense({
        units: numClasses,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
        useBias: true,
      }),
    ],
  });
  const optimizer = tf.train.adam(TM_LEARNING_RATE);
  const tensors: tf.Tensor[] = [];
  const upload = (data: HeadData): [tf.Tensor2D, tf.Tensor2D] => {
    const x = tf.tensor2d(data.x, [data.n, data.d]);
    const y = tf.tidy(
      () => tf.oneHot(tf.tensor1d(data.y, 'int32'), numClasses).toFloat() as tf.Tensor2D,
    );
    tensors.push(x, y);
    return [x, y];
  };
  try {
    model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const [x, y] = upload(train);
    const validationData = opts.validation ? upload(opts.validation) : undefined;
    const history: EpochReport[] = [];
    const signal = opts.signal;
    await model.fit(x, y, {
      epochs,
      batchSize: TM_BATCH_SIZE,
      shuffle: true,
      ...(validationData ? { validationData } : {}),
      callbacks: {
        onBatchEnd: () => {
          if (signal?.aborted) model.stopTraining = true;
        },
        onEpochEnd: (epoch, logs) => {
          const report: EpochReport = {
            epoch: epoch + 1,
            loss: logs?.loss ?? NaN,
            accuracy: logs?.acc ?? NaN,
          };
          if (validationData) {
            report.valLoss = logs?.val_loss ?? NaN;
            report.valAccuracy = logs?.val_acc ?? NaN;
          }
          history.push(report);
          opts.onEpoch?.(report);
        },
      },
    });
    throwIfCancelled(signal);
    const weights = model.getWeights();
    const values = await Promise.all(weights.map((w) => w.data()));
    const sizes = [train.d, TM_HIDDEN_UNITS, numClasses];
    const layers = [0, 1].map((l) => ({
      kernel: Float32Array.from(values[2 * l] as Float32Array),
      bias: Float32Array.from(values[2 * l + 1] as Float32Array),
      inDim: sizes[l] as number,
      outDim: sizes[l + 1] as number,
    }));
    return {
      kind: 'mlp',
      inputDim: train.d,
      numClasses,
      mean: new Float32Array(train.d),
      invStd: new Float32Array(train.d).fill(1),
      layers,
      settings: {
        ...DEFAULT_HEAD_SETTINGS,
        kind: 'mlp',
        epochs,
        batchSize: TM_BATCH_SIZE,
        learningRate: TM_LEARNING_RATE,
        hiddenUnits: TM_HIDDEN_UNITS,
        dropout: 0,
        l2: 0,
        normalizeRows: false,
        earlyStoppingPatience: 0,
        classWeighting: false,
        seed,
      },
      history,
      bestEpoch: history.length,
    };
  } finally {
    tf.dispose(tensors);
    model.dispose();
    optimizer.dispose();
  }
}
