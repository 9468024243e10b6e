"""Bluetooth LE sensors: device profiles as data, pure packet decoders, and the bleak reader."""
