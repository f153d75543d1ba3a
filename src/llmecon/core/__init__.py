"""The pure cost core: workload, options, bills, break-even. No I/O, no clock, no globals."""
