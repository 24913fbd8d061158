"""The developer's machine: Claude Code's settings files and identity, and what `ccmon setup`, `ccmon doctor`,
`ccmon statusline` and `ccmon mcp` do there. Imports nothing of the server: these run where Claude Code runs, and
reach ccmon only over the network."""
