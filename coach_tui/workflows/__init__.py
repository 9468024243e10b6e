"""Use cases both front ends run: check the sensors, calibrate, monitor and record sets, recover, read the store."""
