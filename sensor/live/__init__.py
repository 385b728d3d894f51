"""Live sessions: sources (BLE, phones, replay, simulator) feeding the one Analyzer, with a view and cues."""
