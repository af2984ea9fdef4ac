import { describe, expect, it } from "vitest";
import { WavDecoder, WavFormatError } from "./wav";
import { wav } from "./wav.fixture";

function decodeInPieces(bytes: Uint8Array, size: number): { samples: number[]; rate: number } {
  const decoder = new WavDecoder();
  const samples: number[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    samples.push(...decoder.push(bytes.subarray(at, at + size)));
  }
  decoder.finish();
  return { samples, rate: decoder.sampleRate };
}

describe("WavDecoder", () => {
  const samples = [0, 0.5, -0.5, 0.25, -1];

  it.each([1, 2, 3, 7, 44, 45, 1000])("reads the same samples in pieces of %i bytes", (size) => {
    expect(decodeInPieces(wav(samples, { streaming: true }), size)).toEqual({
      samples,
      rate: 16000,
    });
  });

  it("stops at the data chunk's size and skips a chunk before it, padding and all", () => {
    const kept = wav(samples, { rate: 22050, extra: true });
    const trailing = new Uint8Array([...kept, 0x4c, 0x49, 0x53, 0x54, 0, 0, 0, 0]);
    expect(decodeInPieces(trailing, 5)).toEqual({ samples, rate: 22050 });
  });

  it("mixes channels down to one", () => {
    expect(decodeInPieces(wav([0.5, 0, -0.5, -0.25], { channels: 2 }), 3).samples).toEqual([
      0.25, -0.375,
    ]);
  });

  it("refuses what is not a 16-bit PCM WAV, and a stream that ends before its samples", () => {
    expect(() => new WavDecoder().push(new TextEncoder().encode("<html>no audio</html>"))).toThrow(
      WavFormatError,
    );
    const floats = wav([0.5]);
    new DataView(floats.buffer).setUint16(20, 3, true); // IEEE float
    expect(() => new WavDecoder().push(floats)).toThrow(/16-bit PCM/);
    const cut = new WavDecoder();
    cut.push(wav([0.5]).subarray(0, 30));
    expect(() => cut.finish()).toThrow(WavFormatError);
  });
});
