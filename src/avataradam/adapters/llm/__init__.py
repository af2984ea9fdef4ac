"""Chat models: OpenAI-compatible APIs, in-process GGUF (llama.cpp), and extractive."""
