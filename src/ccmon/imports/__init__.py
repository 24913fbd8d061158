"""History import: Claude Code's local transcripts and Anthropic's Admin API usage report, into `imported_usage`."""
