/** The thesis' audio format: mono, 4 kHz, clips of 28,800 samples (7.2 s). */
export const SAMPLE_RATE = 4000;
export const CLIP_SAMPLES = 28_800;
export const CLIP_SECONDS = CLIP_SAMPLES / SAMPLE_RATE;

/** Extensions read with the built-in WAV reader; everything else goes through ffmpeg. */
export const WAV_EXTENSIONS: readonly string[] = ['.wav', '.wave'];
/** Audio extensions the dataset loaders pick up. */
export const AUDIO_EXTENSIONS: readonly string[] = ['.wav', '.wave', '.ogg', '.oga', '.mp3', '.flac', '.m4a', '.aac', '.opus', '.webm'];
/** Video containers whose audio track the loaders can use. */
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.mkv', '.mov', '.avi', '.webm'];
