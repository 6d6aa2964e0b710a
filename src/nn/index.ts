export {
  chain,
  Module,
  StateDictError,
  type HostTensor,
  type ShapeAndMacs,
  type StateDict,
  type StateValue,
} from './module.js';
export { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from './layers.js';
export { skipInit, kaimingNormalFanOut } from './init.js';
