"""Where samples come from: the simulated kit, recorded files, Bluetooth sensors — all as ``Block``s."""
