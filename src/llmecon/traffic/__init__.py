"""Real traffic in: usage exports and logs read into columns, and the profile drawn from them.

traffic = read_traffic("usage.csv")  # detected; or read_traffic(p, "litellm-json")
profile = profile_traffic(traffic)
"""

from __future__ import annotations

from llmecon.traffic.formats import FORMATS, detect_format, read_traffic, save_traffic
from llmecon.traffic.profile import Distribution, ModelUsage, TrafficProfile, profile_traffic
from llmecon.traffic.records import Traffic

__all__ = [
    "FORMATS",
    "Distribution",
    "ModelUsage",
    "Traffic",
    "TrafficProfile",
    "detect_format",
    "profile_traffic",
    "read_traffic",
    "save_traffic",
]
