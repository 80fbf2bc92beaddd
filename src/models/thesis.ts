/**
 * The thesis' reference numbers, in one place: the thesis preset trains for its step counts,
 * `describe` prints its parameter counts beside ours, and the study's tables put ours beside all of them.
 */
export const THESIS = {
  /** Raw-audio VQ-VAE-2 parameters (the thesis gives the total, not the widths). */
  codecParameters: 580_641,
  /** Parameters of each prior (Top and Bottom). */
  priorParameters: 5_341_084,
  /** Training steps: codec, each prior, classifier head. */
  steps: { codec: 10_920, prior: 10_080, head: 160 },
  /** Classifier accuracy before (zero-shot) and after the trained head, on ResNet-50 features. */
  classifier: { zeroShot: 0.51, head: 0.98, backbone: 'ResNet-50' },
} as const;
