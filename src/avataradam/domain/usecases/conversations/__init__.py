"""Conversations with Adam: training answers grounded in the knowledge base, roleplay
customers, and feedback on answers.

- `start`: start a conversation, list one's own, read one with its messages.
- `chat`: `SendMessage`, a trainee's message up to the prompt (in the request).
- `generation`: the reply's generation, check, caching and storage (a task of its own).
- `replies`: what a reply streams (`ReplyStream` and its events) and says.
- `feedback`: ratings of answers, and their reports for admins.
"""
