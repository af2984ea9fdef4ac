"""Adapters of the speech ports (`domain/ports/speech.py`): cloud text to speech and
speech to text (`openai`, `elevenlabs`), and what they share (WAV, duration probes,
language codes, the HTTP retry policy)."""
