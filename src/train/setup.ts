// What a training run is built from, given its config and data: the model, the optimizer,
// and the learning-rate schedule with its steps per epoch. Platform-free, so the CLI's
// trainer and the web page start a run the same way.
import type { Dataset } from '../data/dataset-format.js';
import { trainBatchCount } from '../data/loader.js';
import { ArgumentError } from '../errors.js';
import { MODELS } from '../models/index.js';
import type { ResNet } from '../models/resnet.js';
import type { Schedule } from '../optim/schedule.js';
import { SGD } from '../optim/sgd.js';
import type { Generator } from '../random.js';
import type { TrainConfig } from './config.js';

export function createModel(config: TrainConfig, dataset: Dataset, generator: Generator): ResNet {
  const { create, input } = MODELS[config.model];
  if (input[0] !== dataset.shape[0]) {
    throw new ArgumentError(
      'train',
      'model',
      `${config.model} takes ${input[0]}-channel images but ${dataset.name} has ${dataset.shape[0]}; pick a model for ${dataset.shape.join('x')} inputs`,
    );
  }
  return create({ numClasses: dataset.classes.length, generator, zeroInitResidual: config.zeroInitResidual });
}

export function createOptimizer(config: TrainConfig, model: ResNet): SGD {
  const { lr, momentum, nesterov, weightDecay } = config;
  return new SGD(model.parameters(), { lr, momentum, nesterov, weightDecay });
}

/** The schedule over the run's steps, counted as batches() yields them. */
export function createSchedule(config: TrainConfig, dataset: Dataset): Schedule {
  const images = Math.min(config.trainLimit ?? dataset.train.count, dataset.train.count);
  return {
    kind: config.schedule,
    baseLr: config.lr,
    epochs: config.epochs,
    stepsPerEpoch: trainBatchCount(images, config.batchSize),
    warmupEpochs: config.warmupEpochs,
  };
}
