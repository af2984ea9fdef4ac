/**
 * A WAV read as its bytes arrive: the samples of each chunk of bytes as soon as it comes,
 * so a reply plays while the rest of it is still being spoken and sent.
 *
 * What the server sends (`domain/audio.py`): RIFF/WAVE, a `fmt ` chunk of 16-bit PCM,
 * then `data`, whose size is 0xFFFFFFFF while it streams (the length is not known yet)
 * or the true size once kept. Other chunks before `data` are skipped, as RIFF says
 * (Microsoft's "Multimedia Programming Interface and Data Specifications 1.0"); channels
 * are mixed down to one.
 */

export class WavFormatError extends Error {
  override name = "WavFormatError";
}

const HEADER = 12; // "RIFF", size, "WAVE"
const CHUNK_HEADER = 8; // id, size
const STREAMING = 0xffffffff;

export class WavDecoder {
  /** Samples a second (0 until the `fmt ` chunk has been read). */
  sampleRate = 0;
  private channels = 0;
  private pending: Uint8Array = new Uint8Array(0);
  private inData = false;
  /** Bytes of `data` still to come (Infinity: to the end of the stream). */
  private dataLeft = 0;
  private started = false;

  /** The samples (mono, -1..1) `bytes` completes; throws WavFormatError for what is not
   * a 16-bit PCM WAV. */
  push(bytes: Uint8Array): Float32Array<ArrayBuffer> {
    this.pending = concat(this.pending, bytes);
    if (!this.inData && !this.readHeaders()) return new Float32Array(0);
    const frame = 2 * this.channels;
    const usable = Math.min(this.pending.length, this.dataLeft);
    const frames = Math.floor(usable / frame);
    const samples = new Float32Array(frames);
    const view = new DataView(this.pending.buffer, this.pending.byteOffset, frames * frame);
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < this.channels; c++)
        sum += view.getInt16((i * this.channels + c) * 2, true);
      samples[i] = sum / this.channels / 32768;
    }
    this.pending = this.pending.slice(frames * frame);
    this.dataLeft -= frames * frame;
    return samples;
  }

  /** The stream ended: throws WavFormatError if it never reached its samples. */
  finish(): void {
    if (!this.inData) throw new WavFormatError("the audio ended before its samples began");
  }

  /** Reads up to the start of `data`; false: more bytes are needed. */
  private readHeaders(): boolean {
    if (!this.started) {
      if (this.pending.length < HEADER) return false;
      if (text(this.pending, 0) !== "RIFF" || text(this.pending, 8) !== "WAVE") {
        throw new WavFormatError("not a WAV (RIFF/WAVE) stream");
      }
      this.pending = this.pending.slice(HEADER);
      this.started = true;
    }
    while (this.pending.length >= CHUNK_HEADER) {
      const id = text(this.pending, 0);
      const size = new DataView(this.pending.buffer, this.pending.byteOffset).getUint32(4, true);
      if (id === "data") {
        if (!this.channels) throw new WavFormatError("the samples came before their format");
        this.pending = this.pending.slice(CHUNK_HEADER);
        this.dataLeft = size === STREAMING ? Number.POSITIVE_INFINITY : size;
        this.inData = true;
        return true;
      }
      const whole = CHUNK_HEADER + size + (size % 2); // chunks are padded to an even size
      if (this.pending.length < whole) return false;
      if (id === "fmt ") this.readFormat(this.pending.subarray(CHUNK_HEADER, CHUNK_HEADER + size));
      this.pending = this.pending.slice(whole);
    }
    return false;
  }

  private readFormat(chunk: Uint8Array): void {
    if (chunk.length < 16) throw new WavFormatError("a short fmt chunk");
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
    const format = view.getUint16(0, true);
    const bits = view.getUint16(14, true);
    if (format !== 1 || bits !== 16) {
      throw new WavFormatError(`not 16-bit PCM (format ${format}, ${bits} bits)`);
    }
    this.channels = view.getUint16(2, true);
    this.sampleRate = view.getUint32(4, true);
    if (this.channels < 1 || this.sampleRate < 1) throw new WavFormatError("no channels or rate");
  }
}

function text(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + 4));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
