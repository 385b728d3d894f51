"""backcheck I/O: files, BLE, phones, clocks, the terminal and the CLI."""
