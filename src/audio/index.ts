export * from './constants';
export * from './wav';
export * from './ffmpeg';
export * from './resample';
export * from './decode';
export * from './clips';
export * from './mel';
