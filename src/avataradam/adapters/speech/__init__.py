"""Speech adapters (issue 20): local engines (faster-whisper, Piper, espeak-ng) behind
the ports of `avataradam.domain.ports.speech`."""
