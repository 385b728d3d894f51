"""backcheck analysis: pure computation on Samples (never imports sensor, bleak or asyncio)."""
