"""Pure rules, no I/O: entities, the chat state machine, events, system messages, routing."""
