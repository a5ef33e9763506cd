"""Platform adapters: translate Discord, Slack and console events to engine calls."""
