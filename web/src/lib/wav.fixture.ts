/** Test data: WAV bytes as the server writes them. */

/** A 16-bit WAV of `samples` (-1..1) as the server writes it (`domain/audio.py`):
 * `streaming`, the sizes are 0xFFFFFFFF; `extra`, a LIST chunk before `data`. */
export function wav(
  samples: number[],
  options: { rate?: number; channels?: number; streaming?: boolean; extra?: boolean } = {},
): Uint8Array {
  const { rate = 16000, channels = 1, streaming = false, extra = false } = options;
  const list = extra ? 8 + 5 + 1 : 0; // an odd-sized chunk, padded
  const data = samples.length * 2;
  const bytes = new Uint8Array(44 + list + data);
  const view = new DataView(bytes.buffer);
  const put = (at: number, text: string) => {
    for (let i = 0; i < 4; i++) bytes[at + i] = text.charCodeAt(i);
  };
  put(0, "RIFF");
  view.setUint32(4, streaming ? 0xffffffff : 36 + list + data, true);
  put(8, "WAVE");
  put(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  let at = 36;
  if (extra) {
    put(at, "LIST");
    view.setUint32(at + 4, 5, true);
    at += list;
  }
  put(at, "data");
  view.setUint32(at + 4, streaming ? 0xffffffff : data, true);
  for (const [i, s] of samples.entries()) {
    view.setInt16(at + 8 + i * 2, Math.min(32767, Math.round(s * 32768)), true);
  }
  return bytes;
}
