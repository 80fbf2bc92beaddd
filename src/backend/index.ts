/** The backend layer's face; the implementation (choose, start and report a tfjs backend) is init.ts. */
export * from './init';
