"""Running things for real: the probe, its privileges, the host, the VM."""
