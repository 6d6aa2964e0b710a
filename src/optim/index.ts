export { SGD, type SGDOptions } from './sgd.js';
export { defaultMilestones, learningRate, type Schedule, type ScheduleKind } from './schedule.js';
